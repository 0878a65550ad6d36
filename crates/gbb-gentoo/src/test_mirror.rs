//! A mirror for tests: an HTTP/1.0 server on 127.0.0.1 serving files from memory, honouring
//! `Range: bytes=N-`, and able to fail on purpose (a status, or a transfer cut short once).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub enum Behaviour {
    Serve(Vec<u8>),
    Status(u16),
    /// Announce the whole length, send `cut` bytes, close; whole afterwards.
    CutOnce {
        data: Vec<u8>,
        cut: usize,
    },
}

/// The requests a mirror saw: path and `Range` header.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[derive(Clone, Default)]
pub struct Mirror {
    pub files: Arc<Mutex<HashMap<String, Behaviour>>>,
    /// Each request: path and Range header.
    pub requests: RequestLog,
    pub url: String,
}

impl Mirror {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mirror = Self {
            url: format!("http://{}/", listener.local_addr().unwrap()),
            ..Self::default()
        };
        let state = mirror.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_owned();
                let mut range = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("range:") {
                        range = Some(value.trim().to_owned());
                    }
                }
                state
                    .requests
                    .lock()
                    .unwrap()
                    .push((path.clone(), range.clone()));
                let behaviour = state.files.lock().unwrap().get(&path).cloned();
                let from = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
                    .unwrap_or(0);
                let (status, body, announced) = match behaviour {
                    None => (404, Vec::new(), 0),
                    Some(Behaviour::Status(code)) => (code, Vec::new(), 0),
                    Some(Behaviour::Serve(data)) => {
                        let body = data.get(from..).unwrap_or_default().to_vec();
                        (if from > 0 { 206 } else { 200 }, body.clone(), body.len())
                    }
                    Some(Behaviour::CutOnce { data, cut }) => {
                        let body = data.get(from..).unwrap_or_default().to_vec();
                        let announced = body.len();
                        state
                            .files
                            .lock()
                            .unwrap()
                            .insert(path.clone(), Behaviour::Serve(data));
                        (
                            if from > 0 { 206 } else { 200 },
                            body[..cut.min(body.len())].to_vec(),
                            announced,
                        )
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.0 {status} X\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(&body);
            }
        });
        mirror
    }

    pub fn put(&self, path: &str, behaviour: Behaviour) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), behaviour);
    }

    pub fn requests_for(&self, path: &str) -> Vec<Option<String>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r.clone())
            .collect()
    }
}
