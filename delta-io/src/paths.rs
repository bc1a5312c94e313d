//! Resolving the paths written in the log to object store paths.
//!
//! Paths in `add`/`remove` actions are URL-encoded (RFC 2396): relative ones are
//! under the table root, absolute ones are URLs. Decoded, each `/`-separated
//! segment is a literal file or directory name (it may itself contain `%`, as in
//! `x=A%2FA`), kept as it is in the store path.

use delta_log::paths::{LogPath, percent_decode, place, same_store};
use object_store::path::Path;
use url::Url;

use crate::IoError;

/// Percent-decodes a log path.
pub fn decode_log_path(path: &str) -> Result<String, IoError> {
    percent_decode(path)
        .map(|decoded| decoded.into_owned())
        .ok_or_else(|| IoError::InvalidPath {
            path: path.to_string(),
            reason: "a bad percent escape, or not UTF-8 once decoded".to_string(),
        })
}

/// The store path of a file named in the log, for a table rooted at `root`
/// in its store and, when known, at the URL `table` (see
/// [`delta_log::paths::table_url`]). An absolute URL in another store (another
/// bucket, account or kind of store) is refused: the table's store cannot
/// read it.
pub fn resolve_log_path(root: &Path, table: Option<&Url>, path: &str) -> Result<Path, IoError> {
    let invalid = |reason: String| IoError::InvalidPath {
        path: path.to_string(),
        reason,
    };
    let path = match place(table, path).map_err(|e| invalid(e.to_string()))? {
        LogPath::Relative(_) => path,
        LogPath::InTable(rest) => return resolve_log_path(root, None, &rest),
        LogPath::Elsewhere(url) => {
            if let Some(table) = table
                && !same_store(table, &url)
            {
                return Err(invalid(format!(
                    "the file is outside the table's store ({table}); reading files of another bucket or store is not supported"
                )));
            }
            // elsewhere in the same store: the path part, already URL-encoded
            return Path::from_url_path(url.path()).map_err(|e| invalid(e.to_string()));
        }
    };
    let decoded = decode_log_path(path)?;
    if decoded
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(IoError::InvalidPath {
            path: path.to_string(),
            reason: "relative segments are not allowed".to_string(),
        });
    }
    // the decoded segments are the literal names in the store
    let joined = format!("{root}/{}", decoded.trim_start_matches('/'));
    Path::parse(joined.trim_start_matches('/')).map_err(|e| IoError::InvalidPath {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_joins() {
        let root = Path::from("data/t");
        let p = resolve_log_path(&root, None, "x=A%252FA/part-1.parquet").unwrap();
        // the segment is the literal name `x=A%2FA`
        assert_eq!(p.as_ref(), "data/t/x=A%2FA/part-1.parquet");
        let p = resolve_log_path(&root, None, "a%20b/c.parquet").unwrap();
        assert_eq!(p.as_ref(), "data/t/a b/c.parquet");
        let p = resolve_log_path(&root, None, "file:///abs/dir/f%20g.parquet").unwrap();
        assert_eq!(p.as_ref(), "abs/dir/f g.parquet");
        assert!(resolve_log_path(&root, None, "a%zz").is_err());
        assert!(resolve_log_path(&root, None, "../escape.parquet").is_err());
        // absolute URLs: in the table, elsewhere in its store, in another store
        let table = delta_log::paths::table_url("s3://bucket/data/t").unwrap();
        let p = resolve_log_path(&root, Some(&table), "s3a://bucket/data/t/a%20b.parquet").unwrap();
        assert_eq!(p.as_ref(), "data/t/a b.parquet");
        let p = resolve_log_path(&root, Some(&table), "s3://bucket/shared/f.parquet").unwrap();
        assert_eq!(p.as_ref(), "shared/f.parquet");
        let err = resolve_log_path(&root, Some(&table), "s3://other/data/t/f.parquet").unwrap_err();
        assert!(
            err.to_string().contains("outside the table's store"),
            "{err}"
        );
    }
}
