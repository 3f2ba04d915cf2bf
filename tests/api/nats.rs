//! A throwaway `nats-server` for the many-nodes tests: started on a free loopback port in a
//! temporary directory, killed when dropped (whether the test passed or not). `stop` and
//! `start_again` make a broker outage on the same address. `nats-server` comes from Debian's
//! package, which `.ci/install-tools.sh` installs.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    port: u16,
    server: Option<Child>,
}

impl Nats {
    pub fn start() -> Nats {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let mut nats = Nats { port, server: None };
        nats.start_again();
        nats
    }

    /// `nats://127.0.0.1:<port>`, for BROKER_URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (an outage: connected nodes lose it at once).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same port and waits until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.server.is_none(), "already running");
        let server = Command::new(nats_server())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (run .ci/install-tools.sh?)");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Debian puts it in /usr/sbin, which is not on every user's PATH.
fn nats_server() -> &'static str {
    if std::path::Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}
