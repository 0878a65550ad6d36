//! A registry for tests: Debian's `docker-registry` on a free port of 127.0.0.1, its storage
//! and config in a temporary folder, stopped when dropped. With basic auth (an htpasswd file,
//! bcrypt as the registry requires) and TLS (a CA and a server certificate made on the spot)
//! when asked. No systemd, nothing outside the temporary folder.
//!
//! Test support only (the `test-registry` feature): failures panic with what the registry
//! wrote, which is what a test wants.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ConnectOptions, Credentials};

/// What the registry asks of clients.
#[derive(Debug, Clone, Default)]
pub struct LocalRegistryOptions {
    /// Basic auth with this one user.
    pub basic_auth: Option<Credentials>,
    /// HTTPS with a certificate from a CA of the test's own (see [`LocalRegistry::ca_cert`]).
    pub tls: bool,
}

/// A running registry.
#[derive(Debug)]
pub struct LocalRegistry {
    child: Child,
    port: u16,
    tls: bool,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (CA PEM, server cert PEM,
/// server key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gbb test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

impl LocalRegistry {
    /// Starts a registry and waits until it accepts connections.
    pub fn start(options: &LocalRegistryOptions) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if options.tls {
            let (ca, cert, key) = certificates();
            fs::write(dir.path().join("ca.pem"), ca).unwrap();
            fs::write(dir.path().join("cert.pem"), cert).unwrap();
            fs::write(dir.path().join("key.pem"), key).unwrap();
            config.push_str(&format!(
                "  tls:\n    certificate: {0}/cert.pem\n    key: {0}/key.pem\n",
                dir.path().display()
            ));
        }
        if let Some(user) = &options.basic_auth {
            // The lowest cost bcrypt allows: the registry checks it on every request.
            let hash = bcrypt::hash(&user.password, 4).unwrap();
            fs::write(
                dir.path().join("htpasswd"),
                format!("{}:{hash}\n", user.username),
            )
            .unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: gbb-test\n    path: {}/htpasswd\n",
                dir.path().display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).unwrap();
        let log = fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry runs (scripts/setup-test-machine installs it)");
        let mut registry = Self {
            child,
            port,
            tls: options.tls,
            dir,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = registry.child.try_wait() {
                panic!("docker-registry exited ({status}): {}", registry.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the registry did not start: {}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry.port = port;
        registry
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The CA's certificate (PEM), for a registry started with TLS.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("ca.pem"))
    }

    /// The options a client needs: plain HTTP without TLS, the CA with it.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            insecure: !self.tls,
            ca_cert: self.ca_cert(),
        }
    }

    /// What the registry wrote to its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
