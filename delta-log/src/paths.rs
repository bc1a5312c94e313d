//! How the paths of `add` / `remove` actions relate to the table: relative
//! ones are under the table root; absolute ones are URLs, under the table
//! root or elsewhere. Reconciliation compares files by their path relative to
//! the table when they are in it, so that a relative `add` and an absolute
//! `remove` of the same file cancel; readers refuse files in another store.

use std::borrow::Cow;

use url::Url;

/// A path of the log, placed relative to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPath<'a> {
    /// A relative path (URL-encoded), under the table root.
    Relative(&'a str),
    /// An absolute URL under the table root: the part after the root (URL-encoded).
    InTable(String),
    /// An absolute URL elsewhere.
    Elsewhere(Url),
}

/// The URL of a table given as `location` whose root in its store is
/// `root`: the location when it is a URL, else (a local path, relative or
/// absolute) `file:///<root>/`.
pub fn table_url_at(location: &str, root: &object_store::path::Path) -> Option<Url> {
    match Url::parse(location) {
        Ok(url) if url.scheme().len() > 1 => table_url(location),
        _ => table_url(&format!("/{}", root.as_ref())),
    }
}

/// The table's root as a URL ending in `/`: a URL location as it is
/// (`s3://bucket/t/`), an absolute local path as `file:///tmp/t/`. `None`
/// for what is neither (a relative local path).
pub fn table_url(location: &str) -> Option<Url> {
    let mut url = match Url::parse(location) {
        Ok(url) if url.scheme().len() > 1 => url,
        _ => {
            let path = std::path::Path::new(location);
            if !path.is_absolute() {
                return None;
            }
            Url::from_directory_path(path).ok()?
        }
    };
    if !url.path().ends_with('/') {
        let with_slash = format!("{}/", url.path());
        url.set_path(&with_slash);
    }
    Some(url)
}

/// One name for the schemes that reach the same store.
fn scheme_family(scheme: &str) -> &str {
    match scheme {
        "s3a" | "s3n" => "s3",
        "abfs" | "abfss" | "az" | "azure" | "adl" | "wasb" | "wasbs" => "azure",
        "gcs" => "gs",
        other => other,
    }
}

/// The path that identifies a file of the log in reconciliation: relative to
/// the table when it is in it (so relative and absolute names of one file
/// agree), the whole URL otherwise.
pub fn reconciliation_path<'a>(table: Option<&Url>, path: &'a str) -> Cow<'a, str> {
    // compared decoded: writers differ in what they percent-encode
    let decoded = |text: Cow<'a, str>| match percent_decode(&text) {
        Some(Cow::Owned(d)) => Cow::Owned(d),
        _ => text,
    };
    match place(table, path) {
        Ok(LogPath::Relative(p)) => decoded(Cow::Borrowed(p)),
        Ok(LogPath::InTable(rest)) => decoded(Cow::Owned(rest)),
        Ok(LogPath::Elsewhere(url)) => decoded(Cow::Owned(url.to_string())),
        Err(_) => Cow::Borrowed(path),
    }
}

/// Percent-decodes a log path (`None` for a bad escape or text that is not
/// UTF-8 once decoded); borrowed when there is nothing to decode.
pub fn percent_decode(path: &str) -> Option<Cow<'_, str>> {
    if !path.contains('%') {
        return Some(Cow::Borrowed(path));
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// The store a URL is in: its kind and its bucket (S3, GCS), container
/// (Azure: `az://container/...` or `abfss://container@account.../...`), or
/// host and port.
fn store_of(url: &Url) -> (&str, String) {
    let family = scheme_family(url.scheme());
    let host = url.host_str().filter(|h| *h != "localhost").unwrap_or("");
    let place = if family == "azure" && !url.username().is_empty() {
        url.username().to_string()
    } else {
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    };
    (family, place)
}

/// Whether `url` is in the same store (same kind of store, same bucket or
/// container) as the table at `table`.
pub fn same_store(table: &Url, url: &Url) -> bool {
    store_of(table) == store_of(url)
}

/// Places a log path relative to the table at `table` (a [`table_url`]);
/// without a table URL, absolute URLs are [`LogPath::Elsewhere`].
pub fn place<'a>(table: Option<&Url>, path: &'a str) -> Result<LogPath<'a>, url::ParseError> {
    // absolute paths are URLs (`s3://...`, `file:/...`); a colon alone is
    // part of a name
    if !path.contains("://") && !path.starts_with("file:") {
        return Ok(LogPath::Relative(path));
    }
    let url = match Url::parse(path) {
        Ok(url) if url.scheme().len() > 1 => url,
        // `a:b.parquet` is a relative path with a colon in a name
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => return Ok(LogPath::Relative(path)),
        Err(e) => return Err(e),
    };
    if let Some(table) = table
        && same_store(table, &url)
        && let Some(rest) = url.path().strip_prefix(table.path())
    {
        return Ok(LogPath::InTable(rest.to_string()));
    }
    Ok(LogPath::Elsewhere(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_paths() {
        let t = table_url("/tmp/t").unwrap();
        assert_eq!(t.as_str(), "file:///tmp/t/");
        assert_eq!(
            place(Some(&t), "a%20b.parquet").unwrap(),
            LogPath::Relative("a%20b.parquet")
        );
        assert_eq!(
            place(Some(&t), "file:/tmp/t/x=1/a%20b.parquet").unwrap(),
            LogPath::InTable("x=1/a%20b.parquet".into())
        );
        assert_eq!(
            place(Some(&t), "file:///tmp/t/a.parquet").unwrap(),
            LogPath::InTable("a.parquet".into())
        );
        assert!(matches!(
            place(Some(&t), "file:///tmp/other/a.parquet").unwrap(),
            LogPath::Elsewhere(_)
        ));
        let s3 = table_url("s3://bucket/tables/t").unwrap();
        assert_eq!(
            place(Some(&s3), "s3a://bucket/tables/t/a.parquet").unwrap(),
            LogPath::InTable("a.parquet".into())
        );
        let other = place(Some(&s3), "s3://other-bucket/tables/t/a.parquet").unwrap();
        let LogPath::Elsewhere(url) = other else {
            panic!("{other:?}")
        };
        assert!(!same_store(&s3, &url));
        assert!(table_url("relative/dir").is_none());
        let local = table_url_at(
            "relative/t",
            &object_store::path::Path::from("work/relative/t"),
        );
        assert_eq!(local.unwrap().as_str(), "file:///work/relative/t/");
        // Azure: the container is the store, however the URL names it
        let az = table_url("az://box/t").unwrap();
        assert_eq!(
            place(
                Some(&az),
                "abfss://box@acct.dfs.core.windows.net/t/f.parquet"
            )
            .unwrap(),
            LogPath::InTable("f.parquet".into())
        );
        let other = Url::parse("abfss://other@acct.dfs.core.windows.net/t/f.parquet").unwrap();
        assert!(!same_store(&az, &other));
        // one file whatever its writer percent-encodes
        let t = table_url("/tmp/t").unwrap();
        assert_eq!(
            reconciliation_path(Some(&t), "x=é/f.parquet"),
            reconciliation_path(Some(&t), "file:/tmp/t/x=%C3%A9/f.parquet")
        );
        assert_eq!(reconciliation_path(Some(&t), "a%20b"), "a b");
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(
            place(None, "a:b.parquet").unwrap(),
            LogPath::Relative("a:b.parquet")
        );
    }
}
