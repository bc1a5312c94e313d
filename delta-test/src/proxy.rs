//! A fault-injecting HTTP proxy on 127.0.0.1, between a client (an
//! object_store S3 or Azure client) and a real server, for tests of what
//! clients see on a real network: a request that reaches the server and
//! lands, whose response is lost and replaced by an error (a 503). The
//! client's HTTP layer then retries, as it does in production.
//!
//! One request per connection: the proxy asks the server to close after its
//! response (`Connection: close`) and closes the client connection too, so
//! responses are read to the end whatever their framing. Requests must carry
//! their body with `Content-Length` (object_store's do). Host and every other
//! header are passed through unchanged, so signed requests stay valid.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long the proxy waits for the server's whole response.
const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Largest request head the proxy accepts.
const MAX_HEAD: usize = 64 * 1024;

/// A response to lose: the first request with this method whose path ends
/// with `path_suffix` is forwarded, and its client gets `status` instead of
/// the server's answer.
#[derive(Debug, Clone)]
struct Fault {
    method: String,
    path_suffix: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Shared {
    faults: Mutex<Vec<Fault>>,
    injected: AtomicUsize,
    requests: AtomicUsize,
}

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 in front of `upstream`
    /// (`host:port`, or an `http://host:port` URL).
    pub async fn start(upstream: &str) -> io::Result<FaultProxy> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    // a failed exchange only fails that client request
                    let _ = serve(client, &upstream, &state).await;
                });
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// The proxy's URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Arms a fault: the next `method` request whose path ends with
    /// `path_suffix` reaches the server, and its client gets `status`.
    pub fn lose_response(&self, method: &str, path_suffix: &str, status: u16) {
        if let Ok(mut faults) = self.shared.faults.lock() {
            faults.push(Fault {
                method: method.to_string(),
                path_suffix: path_suffix.to_string(),
                status,
            });
        }
    }

    /// How many responses were lost so far.
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// How many requests went through.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The parsed head of a request.
struct Head {
    method: String,
    path: String,
    content_length: usize,
    /// The head with `Connection: close` in place of any connection header.
    bytes: Vec<u8>,
}

fn bad(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.into())
}

/// Reads a request head; returns it and the body bytes read past it.
async fn read_head(client: &mut TcpStream) -> io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("request head too large"));
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(bad("connection closed before a request"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| bad("request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    let mut content_length = 0;
    let mut head = format!("{request_line}\r\n");
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let name_lower = name.trim().to_ascii_lowercase();
        match name_lower.as_str() {
            "connection" | "keep-alive" => continue,
            "content-length" => {
                content_length = value
                    .trim()
                    .parse()
                    .map_err(|_| bad("bad content-length"))?;
            }
            "transfer-encoding" => return Err(bad("chunked request bodies are not supported")),
            _ => {}
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    let rest = buf[end + 4..].to_vec();
    Ok((
        Head {
            method,
            path,
            content_length,
            bytes: head.into_bytes(),
        },
        rest,
    ))
}

/// Takes the armed fault that matches this request, if any.
fn take_fault(shared: &Shared, head: &Head) -> Option<Fault> {
    let mut faults = shared.faults.lock().ok()?;
    let i = faults
        .iter()
        .position(|f| f.method == head.method && head.path.ends_with(&f.path_suffix))?;
    Some(faults.remove(i))
}

async fn serve(mut client: TcpStream, upstream: &str, shared: &Shared) -> io::Result<()> {
    let (head, mut body) = read_head(&mut client).await?;
    if body.len() < head.content_length {
        let mut more = vec![0u8; head.content_length - body.len()];
        client.read_exact(&mut more).await?;
        body.extend_from_slice(&more);
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&head.bytes).await?;
    server.write_all(&body).await?;
    let mut response = Vec::new();
    // bounded: a server that keeps the connection open fails the request
    tokio::time::timeout(RESPONSE_TIMEOUT, server.read_to_end(&mut response))
        .await
        .map_err(|_| bad("no end of the server's response"))??;
    // a fault is used up only by a request that reached the server
    match take_fault(shared, &head) {
        Some(fault) => {
            shared.injected.fetch_add(1, Ordering::SeqCst);
            let lost = format!(
                "HTTP/1.1 {} Injected Lost Response\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                fault.status
            );
            client.write_all(lost.as_bytes()).await?;
        }
        None => client.write_all(&response).await?,
    }
    client.shutdown().await
}
