//! Plain `http://` downloads through `ureq` (redirects, chunked and Content-Length bodies, a
//! body cut short is an error). No TLS on purpose: a TLS stack would be the largest part of a
//! benchmark harness' dependency tree for one rarely used route; for https sources the user
//! downloads by hand (the error says so). Tests run it against a server on 127.0.0.1 only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fetch::install::install_with;
use crate::hashes::KnownFile;
use crate::DataError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

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

/// GETs `url` (following http:// redirects) and streams the body into `out`; returns its length.
pub(crate) fn get(url: &str, out: &mut dyn Write) -> Result<u64, DataError> {
    if !url.starts_with("http://") {
        return Err(http_err(
            url,
            None,
            "only http:// URLs are supported (no TLS client is built in)",
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_body(Some(IO_TIMEOUT))
        .timeout_send_request(Some(IO_TIMEOUT))
        .max_redirects(5)
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => {
            http_err(url, Some(code), format!("server answered {code}"))
        }
        other => http_err(url, None, transport_message(&other)),
    })?;
    let announced: Option<u64> = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = response.into_body().into_reader();
    let mut counted = Counted { out, n: 0 };
    match std::io::copy(&mut body, &mut counted) {
        Ok(n) => Ok(n),
        Err(e) => {
            let got = counted.n;
            let of = announced.map_or(String::new(), |a| format!(" of {a} bytes"));
            Err(http_err(
                url,
                None,
                format!("reading the body: got {got}{of}: {e}"),
            ))
        }
    }
}

/// Counts what reached `out`, so a body cut short says how much of it arrived.
struct Counted<'a> {
    out: &'a mut dyn Write,
    n: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.out.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn transport_message(t: &ureq::Error) -> String {
    // A redirect to https lands here as an unsupported scheme: say what to do about it.
    let text = t.to_string();
    if text.contains("https") {
        format!("{text}: https is not supported, download it by hand")
    } else {
        text
    }
}
