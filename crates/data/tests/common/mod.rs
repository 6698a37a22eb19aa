//! Shared test helpers: fixture paths, gzip, and a tiny HTTP server on 127.0.0.1.
//!
//! The server binds 127.0.0.1 port 0 (an OS-chosen free port) and serves an in-memory map of
//! path -> response; tests never contact any other address.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Fixtures (see tests/fixtures/README.md for where each came from).
pub const MNIST_IMAGES_GZ: &str = "mnist-t10k-100-images-idx3-ubyte.gz";
pub const MNIST_LABELS_GZ: &str = "mnist-t10k-100-labels-idx1-ubyte.gz";
pub const FASHION_IMAGES: &str = "fashion-mnist-t10k-100-images-idx3-ubyte";
pub const FASHION_LABELS: &str = "fashion-mnist-t10k-100-labels-idx1-ubyte";
pub const CIFAR_SAMPLE: &str = "cifar10_test_20.bin";

/// SHA-256 of the decompressed fixtures (computed with Python's hashlib when they were made).
pub const MNIST_IMAGES_SHA256: &str =
    "806da1c8626ed91a2ec572ed80666121226e1de20cec504c2787812cac71d159";
pub const MNIST_LABELS_SHA256: &str =
    "1a053e1de7d8946ac62b3ae5a196d52d2e96bc66fd695815a7e29f0310f9c031";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

pub fn read_fixture(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(fixture(name))
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Names of the entries in `dir` (sorted), to check that nothing (not even a temp file) is
/// left behind.
pub fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// How the server answers one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with Content-Length.
    Ok(Vec<u8>),
    /// 200 with Transfer-Encoding: chunked, in chunks of the given size.
    Chunked(Vec<u8>, usize),
    /// 302 to the given location.
    Redirect(String),
    /// 200 announcing `announced` bytes but sending only the body, then closing.
    Truncated(Vec<u8>, usize),
}

pub struct Server {
    pub base: String,
    /// Number of requests served (any path).
    pub hits: Arc<AtomicUsize>,
}

/// Starts a server on 127.0.0.1:0 in a detached thread; unknown paths get 404.
pub fn serve(routes: HashMap<String, Reply>) -> std::io::Result<Server> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let _ = respond(&mut stream, routes.get(&path));
        }
    });
    Ok(Server { base, hits })
}

fn respond(stream: &mut std::net::TcpStream, reply: Option<&Reply>) -> std::io::Result<()> {
    match reply {
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Some(Reply::Ok(body)) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)
        }
        Some(Reply::Chunked(body, size)) => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )?;
            for chunk in body.chunks((*size).max(1)) {
                write!(stream, "{:x};ext=1\r\n", chunk.len())?;
                stream.write_all(chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\nX-Trailer: yes\r\n\r\n")
        }
        Some(Reply::Redirect(to)) => write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Some(Reply::Truncated(body, announced)) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            )?;
            stream.write_all(body)
        }
    }
}
