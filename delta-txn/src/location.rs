//! From a table location (a path or a URL) to an object store and the table's
//! root in it. Cloud credentials come from the environment, as object_store
//! reads them (`AWS_*`, `AZURE_*`, `GOOGLE_*`).

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use url::Url;

use crate::TxnError;

/// A table location resolved to a store and a root path.
#[derive(Debug, Clone)]
pub struct Location {
    /// The location as the user gave it.
    pub display: String,
    /// The store holding the table.
    pub store: Arc<dyn ObjectStore>,
    /// The table root in the store.
    pub root: Path,
}

fn invalid(location: &str, reason: impl ToString) -> TxnError {
    TxnError::InvalidLocation {
        location: location.to_string(),
        reason: reason.to_string(),
    }
}

/// Resolves `location`: a local path (relative or absolute), or a URL with
/// scheme `file`, `memory`, `s3`/`s3a`, `az`/`abfs`/`abfss`/`azure`, `gs`,
/// `http`/`https`.
pub fn resolve(location: &str) -> Result<Location, TxnError> {
    let url = match Url::parse(location) {
        Ok(url) if url.scheme().len() > 1 => url,
        // no scheme, or a Windows drive letter: a local path
        _ => return local(location, std::path::Path::new(location)),
    };
    let url_path = || Path::from_url_path(url.path()).map_err(|e| invalid(location, e));
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| invalid(location, "not a local file URL"))?;
            return local(location, &path);
        }
        "memory" => Arc::new(InMemory::new()),
        "s3" | "s3a" => Arc::new(
            AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(|e| invalid(location, e))?,
        ),
        "az" | "abfs" | "abfss" | "azure" | "adl" => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(|e| invalid(location, e))?,
        ),
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(|e| invalid(location, e))?,
        ),
        "http" | "https" => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(url.as_str())
                .build()
                .map_err(|e| invalid(location, e))?,
        ),
        other => return Err(invalid(location, format!("unsupported scheme '{other}'"))),
    };
    let root = match url.scheme() {
        // the whole URL is the table for http: object paths are relative to it
        "http" | "https" => Path::default(),
        "memory" => Path::from_url_path(format!("{}{}", url.host_str().unwrap_or(""), url.path()))
            .map_err(|e| invalid(location, e))?,
        _ => url_path()?,
    };
    Ok(Location {
        display: location.to_string(),
        store,
        root,
    })
}

fn local(location: &str, path: &std::path::Path) -> Result<Location, TxnError> {
    let absolute = std::path::absolute(path).map_err(|e| invalid(location, e))?;
    // resolve symlinks where the directory exists; a new table's directory may not
    // exist yet, so `..` is also resolved by hand
    let absolute = absolute
        .canonicalize()
        .unwrap_or_else(|_| normalize(&absolute));
    let root = Path::from_absolute_path(&absolute).map_err(|e| invalid(location, e))?;
    Ok(Location {
        display: location.to_string(),
        store: Arc::new(LocalFileSystem::new()),
        root,
    })
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        let l = resolve("/tmp/some table").unwrap();
        assert!(l.root.as_ref().ends_with("tmp/some table"), "{}", l.root);
        let l = resolve("file:///tmp/t%20x").unwrap();
        assert!(l.root.as_ref().ends_with("tmp/t x"), "{}", l.root);
        let l = resolve("/no/such/dir/../table").unwrap();
        assert_eq!(l.root.as_ref(), "no/such/table");
        let l = resolve("memory://bucket/t").unwrap();
        assert_eq!(l.root.as_ref(), "bucket/t");
        let l = resolve("s3://bucket/path/to/t").unwrap();
        assert_eq!(l.root.as_ref(), "path/to/t");
        let err = resolve("ftp://host/t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid table location 'ftp://host/t': unsupported scheme 'ftp'"
        );
    }
}
