//! Telling an engine that stopped answering from one that is busy.
//!
//! Every engine call has the client's one-hour request timeout, and it needs it: a phase 1
//! that compiles, a `RUN`, a stage3 import or a large commit are legitimately long calls. So a
//! shorter limit per call would cut real work, while with the hour alone an engine that stops
//! answering without closing the connection (a remote host gone off the network, a daemon
//! stopped or wedged, an engine on a full disk) holds a step for an hour.
//!
//! Instead, while a call runs, gbb pings the engine on a connection of its own every
//! [`Watchdog::interval`]. An engine at work answers a ping at once (it is the one request
//! Docker and Podman serve without touching their state); one that gives no answer within
//! [`Watchdog::answer`] has stopped answering, and the call fails with a line saying so.

use std::time::Duration;

use crate::EngineError;

/// How often a running call checks that the engine still answers, and how long an answer
/// may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watchdog {
    pub(crate) interval: Duration,
    pub(crate) answer: Duration,
}

impl Default for Watchdog {
    /// A minute between pings; half a minute for an answer, which a loaded engine on a slow
    /// machine still gives well within.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            answer: Duration::from_secs(30),
        }
    }
}

impl Watchdog {
    /// Ends (with the error to report) once `client` gives no answer to a ping within
    /// [`Self::answer`]; never ends while the engine answers. Meant to race the call itself.
    pub(crate) async fn stopped_answering(
        self,
        client: &bollard::Docker,
        host: &str,
        operation: &str,
    ) -> EngineError {
        loop {
            tokio::time::sleep(self.interval).await;
            // A refused or closed connection is an answer of its kind: the call itself sees
            // it too and says what happened better than a ping could.
            if tokio::time::timeout(self.answer, client.ping())
                .await
                .is_err()
            {
                return EngineError::NotAnswering {
                    host: host.to_owned(),
                    operation: operation.to_owned(),
                    answer: self.answer.as_secs_f64(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::time::{Duration, Instant};

    use super::Watchdog;
    use crate::{Dialect, Docker, Engine, EngineError};

    /// An engine that answers the first ping (so that connecting works) and then reads
    /// requests without ever answering, as a wedged engine does; connections stay open.
    fn wedged_engine(socket: &std::path::Path) {
        let listener = UnixListener::bind(socket).unwrap();
        std::thread::spawn(move || {
            let mut answered = false;
            let mut open = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut request = [0u8; 4096];
                let read = stream.read(&mut request).unwrap_or(0);
                if !answered && String::from_utf8_lossy(&request[..read]).contains("/_ping") {
                    answered = true;
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                    );
                    continue;
                }
                open.push(stream);
            }
        });
    }

    #[test]
    fn a_call_to_an_engine_that_stopped_answering_fails_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        wedged_engine(&socket);
        let host = format!("unix://{}", socket.display());
        let mut engine = Docker::connect_as(&host, Dialect::Podman, None).unwrap();
        engine.watchdog = Watchdog {
            interval: Duration::from_millis(300),
            answer: Duration::from_millis(300),
        };
        let started = Instant::now();
        let error = engine.inspect_image("ns/app:latest").unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{error}");
        assert!(
            matches!(error, EngineError::NotAnswering { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "the container engine at `{host}` stopped answering while inspecting image `ns/app:latest`: a ping got no answer within 0.3 s"
            )
        );
    }
}
