//! A minimal HTTP/1.1 GET over `std::net::TcpStream`, for plain `http://` URLs only.
//!
//! Enough for static file servers and mirrors: Content-Length or chunked bodies, redirects to
//! other http:// URLs. No TLS on purpose: a TLS client would pull OpenSSL or a large crate
//! tree into a benchmark harness; for https sources the user downloads by hand (the error
//! says so). Tests run it against a server on 127.0.0.1 only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fetch::install::install_with;
use crate::hashes::KnownFile;
use crate::DataError;

const MAX_REDIRECTS: usize = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Downloads `url` into `dest_dir/file_name`, verifying the decompressed SHA-256 against
/// `expected` (if given) before the atomic rename. Nothing is left under the final name on
/// failure.
pub fn download_verified(
    url: &str,
    dest_dir: &Path,
    file_name: &str,
    expected: Option<&KnownFile>,
) -> Result<PathBuf, DataError> {
    install_with(dest_dir, file_name, expected, |out| {
        get(url, out).map(|_| ())
    })
}

fn http_err(url: &str, status: Option<u16>, message: impl Into<String>) -> DataError {
    DataError::Http {
        url: url.to_string(),
        status,
        message: message.into(),
    }
}

/// A parsed `http://host[:port]/path` URL.
struct Url {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn parse(url: &str) -> Result<Url, DataError> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(http_err(
            url,
            None,
            "only http:// URLs are supported (no TLS client is built in)",
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(http_err(url, None, "expected http://host[:port]/path"));
    }
    // Split host and port; an IPv6 literal is bracketed: [::1]:8080.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p
                .parse()
                .map_err(|_| http_err(url, None, format!("bad port {p:?}")))?;
            (h, port)
        }
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Url {
        host: host.to_string(),
        port,
        authority: authority.to_string(),
        path: path.to_string(),
    })
}

/// GETs `url` (following http:// redirects) and streams the body into `out`; returns its length.
pub(crate) fn get(url: &str, out: &mut dyn Write) -> Result<u64, DataError> {
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        match get_once(&current, out)? {
            Response::Body(n) => return Ok(n),
            Response::Redirect(location) => current = resolve_location(&current, &location)?,
        }
    }
    Err(http_err(
        url,
        None,
        format!("more than {MAX_REDIRECTS} redirects"),
    ))
}

fn resolve_location(from: &str, location: &str) -> Result<String, DataError> {
    if location.starts_with("http://") {
        Ok(location.to_string())
    } else if location.starts_with("https://") {
        Err(http_err(
            from,
            None,
            format!("redirected to {location}, but https is not supported: download it by hand"),
        ))
    } else if location.starts_with('/') {
        let u = parse(from)?;
        Ok(format!("http://{}{location}", u.authority))
    } else {
        Err(http_err(
            from,
            None,
            format!("unsupported redirect location {location:?}"),
        ))
    }
}

enum Response {
    Body(u64),
    Redirect(String),
}

fn connect(url: &str, u: &Url) -> Result<TcpStream, DataError> {
    let addrs = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| http_err(url, None, format!("resolving {}: {e}", u.host)))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(format!("connecting to {addr}: {e}")),
        }
    }
    Err(http_err(
        url,
        None,
        last.unwrap_or_else(|| format!("no address for {}", u.host)),
    ))
}

fn get_once(url: &str, out: &mut dyn Write) -> Result<Response, DataError> {
    let u = parse(url)?;
    let stream = connect(url, &u)?;
    let io = |e: std::io::Error| http_err(url, None, e.to_string());
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: clipbench-data/{}\r\nAccept: */*\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        u.path,
        u.authority,
        env!("CARGO_PKG_VERSION")
    );
    (&stream).write_all(request.as_bytes()).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 16, &stream);
    let head = read_head(url, &mut reader)?;
    match head.status {
        200 => {}
        301 | 302 | 303 | 307 | 308 => {
            let location = head.location.ok_or_else(|| {
                http_err(url, Some(head.status), "redirect without a Location header")
            })?;
            return Ok(Response::Redirect(location));
        }
        s => {
            return Err(http_err(
                url,
                Some(s),
                format!("server answered {}", head.status_line),
            ))
        }
    }
    let n = if head.chunked {
        copy_chunked(url, &mut reader, out)?
    } else if let Some(len) = head.content_length {
        let n = std::io::copy(&mut (&mut reader).take(len), out).map_err(io)?;
        if n != len {
            return Err(http_err(
                url,
                None,
                format!("connection closed after {n} of {len} bytes (Content-Length)"),
            ));
        }
        n
    } else {
        std::io::copy(&mut reader, out).map_err(io)?
    };
    Ok(Response::Body(n))
}

struct Head {
    status: u16,
    status_line: String,
    content_length: Option<u64>,
    chunked: bool,
    location: Option<String>,
}

fn read_line(url: &str, r: &mut impl BufRead, budget: &mut usize) -> Result<String, DataError> {
    let mut line = String::new();
    let n = r
        .by_ref()
        .take(*budget as u64)
        .read_line(&mut line)
        .map_err(|e| http_err(url, None, e.to_string()))?;
    if n == 0 || !line.ends_with('\n') {
        return Err(http_err(url, None, "connection closed or header too long"));
    }
    *budget -= n;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_head(url: &str, r: &mut impl BufRead) -> Result<Head, DataError> {
    let mut budget = MAX_HEADER_BYTES;
    let status_line = read_line(url, r, &mut budget)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| {
            http_err(
                url,
                None,
                format!("not an HTTP/1.x status line: {status_line:?}"),
            )
        })?;
    let mut head = Head {
        status,
        status_line,
        content_length: None,
        chunked: false,
        location: None,
    };
    loop {
        let line = read_line(url, r, &mut budget)?;
        if line.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                head.content_length =
                    Some(value.parse().map_err(|_| {
                        http_err(url, None, format!("bad Content-Length {value:?}"))
                    })?)
            }
            "transfer-encoding" => head.chunked = value.to_ascii_lowercase().contains("chunked"),
            "location" => head.location = Some(value.to_string()),
            _ => {}
        }
    }
}

fn copy_chunked(url: &str, r: &mut impl BufRead, out: &mut dyn Write) -> Result<u64, DataError> {
    let mut total = 0u64;
    loop {
        let mut budget = MAX_HEADER_BYTES;
        let line = read_line(url, r, &mut budget)?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_hex, 16)
            .map_err(|_| http_err(url, None, format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Skip trailers up to the blank line that ends the message.
            while !read_line(url, r, &mut budget)?.is_empty() {}
            return Ok(total);
        }
        let n = std::io::copy(&mut r.by_ref().take(size), out)
            .map_err(|e| http_err(url, None, e.to_string()))?;
        if n != size {
            return Err(http_err(
                url,
                None,
                format!("connection closed inside a chunk ({n} of {size} bytes)"),
            ));
        }
        total += n;
        if !read_line(url, r, &mut budget)?.is_empty() {
            return Err(http_err(url, None, "chunk not followed by CRLF"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_path() -> Result<(), DataError> {
        let u = parse("http://127.0.0.1:8080/a/b.gz")?;
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/a/b.gz")
        );
        let u = parse("http://example.invalid")?;
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = parse("http://[::1]:9/x")?;
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert!(parse("https://example.invalid/").is_err());
        assert!(parse("http://user@host/").is_err());
        Ok(())
    }
}
