//! A real dnsmasq on 127.0.0.1 serving a made-up `.test` zone, for the lint crate's DNS tests
//! and the bridge's. Only std, so both test binaries can include it with `#[path]`.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What dnsmasq serves. Names in `.test` that are not here get NXDOMAIN, as from a real
/// authoritative server; names elsewhere get REFUSED, as there is no upstream.
#[derive(Debug, Default)]
pub struct Zone {
    /// (name, TXT value). dnsmasq splits a value into strings at each comma, and a string
    /// longer than 255 bytes into 255-byte pieces; a name may have several records.
    pub txt: Vec<(String, String)>,
    /// Names that exist with an A record (and no TXT records unless `txt` gives some).
    pub hosts: Vec<(String, Ipv4Addr)>,
}

/// A dnsmasq serving a [`Zone`], killed when dropped.
pub struct Dnsmasq {
    child: Child,
    /// Where it answers, over UDP and TCP.
    pub addr: SocketAddr,
}

impl Dnsmasq {
    /// Starts dnsmasq on a free port and waits until it answers.
    pub fn start(zone: &Zone) -> Self {
        let mut last_error = String::new();
        // The port is free when picked but may be taken before dnsmasq binds it: try again.
        for _ in 0..5 {
            let addr = free_port();
            let mut command = Command::new("/usr/sbin/dnsmasq");
            command
                .arg("--keep-in-foreground")
                .arg("--conf-file=/dev/null")
                .arg("--no-resolv")
                .arg("--no-hosts")
                .arg("--listen-address=127.0.0.1")
                .arg("--bind-interfaces")
                .arg(format!("--port={}", addr.port()))
                // No pid file: the default, /run/dnsmasq/dnsmasq.pid, is not writable for users.
                .arg("--pid-file")
                // As root, dnsmasq would switch to `nobody`, which containers without
                // CAP_SETUID refuse; as another user the option changes nothing.
                .arg("--user=root")
                // Answer NXDOMAIN for unknown names in .test, as a real authoritative server does.
                .arg("--local=/test/")
                .args(
                    zone.hosts
                        .iter()
                        .map(|(name, ip)| format!("--host-record={name},{ip}")),
                )
                .args(
                    zone.txt
                        .iter()
                        .map(|(name, value)| format!("--txt-record={name},{value}")),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let child = match command.spawn() {
                Ok(child) => child,
                Err(e) => {
                    panic!("could not start /usr/sbin/dnsmasq (cargo xtask test installs it): {e}")
                }
            };
            let mut dnsmasq = Dnsmasq { child, addr };
            match dnsmasq.wait_until_listening() {
                Ok(()) => return dnsmasq,
                Err(error) => last_error = error,
            }
        }
        panic!("dnsmasq did not start: {last_error}");
    }

    /// dnsmasq opens its UDP and TCP sockets together before serving, so an accepted TCP
    /// connection means queries will be answered.
    fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(pipe) = self.child.stderr.as_mut() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return Err(format!("dnsmasq exited ({status}): {stderr}"));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "dnsmasq did not listen on {} within 10 s",
            self.addr
        ))
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 127.0.0.1 port free for both UDP and TCP at the time of asking: for dnsmasq, or for a
/// nameserver that is not there.
pub fn free_port() -> SocketAddr {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port on 127.0.0.1");
        let addr = udp.local_addr().expect("the UDP socket's address");
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}
