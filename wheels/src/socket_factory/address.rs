//! Addresses and ports as SocketFactory takes them, and their resolution.

use crate::error::Failure;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// A bind or remote address: a host name or numeric address as text, an
/// IP, a packed address (4 or 16 octets, as Perl's `inet_aton` gives), or —
/// for UNIX sockets — a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A host name, a dotted quad or an IPv6 literal (a path for UNIX).
    Name(String),
    /// An IP address.
    Ip(IpAddr),
    /// A packed address: 4 octets (IPv4) or 16 (IPv6).
    Packed(Vec<u8>),
    /// A UNIX socket path.
    Path(PathBuf),
}

impl From<&str> for Address {
    fn from(s: &str) -> Address {
        Address::Name(s.to_owned())
    }
}

impl From<String> for Address {
    fn from(s: String) -> Address {
        Address::Name(s)
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Address {
        Address::Ip(ip)
    }
}

impl From<Ipv4Addr> for Address {
    fn from(ip: Ipv4Addr) -> Address {
        Address::Ip(ip.into())
    }
}

impl From<Ipv6Addr> for Address {
    fn from(ip: Ipv6Addr) -> Address {
        Address::Ip(ip.into())
    }
}

impl From<Vec<u8>> for Address {
    /// Packed octets (4 for IPv4, 16 for IPv6).
    fn from(b: Vec<u8>) -> Address {
        Address::Packed(b)
    }
}

impl From<[u8; 4]> for Address {
    fn from(b: [u8; 4]) -> Address {
        Address::Packed(b.to_vec())
    }
}

impl From<[u8; 16]> for Address {
    fn from(b: [u8; 16]) -> Address {
        Address::Packed(b.to_vec())
    }
}

impl From<&Path> for Address {
    fn from(p: &Path) -> Address {
        Address::Path(p.to_owned())
    }
}

impl From<PathBuf> for Address {
    fn from(p: PathBuf) -> Address {
        Address::Path(p)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Name(n) => f.write_str(n),
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Packed(b) => write!(f, "{:?}", b),
            Address::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Address {
    /// The path, for a UNIX socket.
    pub(crate) fn as_path(&self) -> Option<PathBuf> {
        match self {
            Address::Name(n) => Some(PathBuf::from(n)),
            Address::Path(p) => Some(p.clone()),
            _ => None,
        }
    }
}

/// A port: a number, or a service name from `/etc/services` (`"http"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Port {
    /// A port number.
    Number(u16),
    /// A service name.
    Service(String),
}

impl From<u16> for Port {
    fn from(n: u16) -> Port {
        Port::Number(n)
    }
}

impl From<&str> for Port {
    /// A numeric string is a number; anything else a service name.
    fn from(s: &str) -> Port {
        s.parse()
            .map_or_else(|_| Port::Service(s.to_owned()), Port::Number)
    }
}

impl From<String> for Port {
    fn from(s: String) -> Port {
        Port::from(s.as_str())
    }
}

/// A port number, looking service names up in `/etc/services` for
/// `protocol` (what `getservbyname` does, without its static buffer).
pub(crate) fn resolve_port(port: &Port, protocol: &str) -> Result<u16, Failure> {
    match port {
        Port::Number(n) => Ok(*n),
        Port::Service(name) => std::fs::read_to_string("/etc/services")
            .ok()
            .and_then(|text| service_port(&text, name, protocol))
            .ok_or_else(|| Failure::new("getservbyname", libc::EADDRNOTAVAIL)),
    }
}

/// Find `name` (or one of its aliases) for `protocol` in services(5) text.
fn service_port(services: &str, name: &str, protocol: &str) -> Option<u16> {
    services.lines().find_map(|line| {
        let line = line.split('#').next()?;
        let mut fields = line.split_whitespace();
        let service = fields.next()?;
        let (port, proto) = fields.next()?.split_once('/')?;
        let matches = service == name || fields.any(|alias| alias == name);
        (matches && proto == protocol).then(|| port.parse().ok())?
    })
}

/// Resolve an internet address (and port) for `ipv6` or IPv4. `None`
/// means the wildcard address. Name lookups happen here, synchronously, as
/// in POE.
pub(crate) fn resolve_inet(
    addr: Option<&Address>,
    port: u16,
    ipv6: bool,
) -> Result<SocketAddr, Failure> {
    let tag = if ipv6 { "getaddrinfo" } else { "inet_aton" };
    let unresolvable = || Failure::new(tag, libc::EADDRNOTAVAIL);
    let ip: IpAddr = match addr {
        None if ipv6 => Ipv6Addr::UNSPECIFIED.into(),
        None => Ipv4Addr::UNSPECIFIED.into(),
        Some(Address::Ip(ip)) => *ip,
        Some(Address::Packed(b)) => match b.len() {
            4 => Ipv4Addr::new(b[0], b[1], b[2], b[3]).into(),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Ipv6Addr::from(a).into()
            }
            _ => return Err(unresolvable()),
        },
        Some(Address::Path(_)) => return Err(unresolvable()),
        Some(Address::Name(name)) => match name.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => (name.as_str(), port)
                .to_socket_addrs()
                .map_err(|_| unresolvable())?
                .find(|a| a.is_ipv6() == ipv6)
                .ok_or_else(unresolvable)?
                .ip(),
        },
    };
    if ip.is_ipv6() != ipv6 {
        return Err(unresolvable());
    }
    Ok(SocketAddr::new(ip, port))
}

/// A peer address as POE hands it over: packed octets (4 or 16).
pub(crate) fn packed(addr: &SocketAddr) -> Vec<u8> {
    match addr.ip() {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: &str = "\
# comment
echo\t\t7/tcp
echo\t\t7/udp
http\t\t80/tcp\t\twww\t# WorldWideWeb HTTP
";

    #[test]
    fn service_names_resolve_by_protocol_and_alias() {
        assert_eq!(service_port(SERVICES, "http", "tcp"), Some(80));
        assert_eq!(service_port(SERVICES, "www", "tcp"), Some(80));
        assert_eq!(service_port(SERVICES, "echo", "udp"), Some(7));
        assert_eq!(service_port(SERVICES, "http", "udp"), None);
        assert_eq!(service_port(SERVICES, "nosuch", "tcp"), None);
        assert_eq!(Port::from("8080"), Port::Number(8080));
        assert_eq!(Port::from("http"), Port::Service("http".into()));
    }

    #[test]
    fn addresses_resolve_from_text_ip_and_packed_forms() {
        let a = resolve_inet(Some(&"127.0.0.1".into()), 80, false).unwrap();
        assert_eq!(a, "127.0.0.1:80".parse().unwrap());
        let b = resolve_inet(Some(&[10, 0, 0, 1].into()), 1, false).unwrap();
        assert_eq!(b, "10.0.0.1:1".parse().unwrap());
        let c = resolve_inet(Some(&"::1".into()), 5, true).unwrap();
        assert_eq!(c, "[::1]:5".parse().unwrap());
        assert_eq!(
            resolve_inet(None, 9, false).unwrap(),
            "0.0.0.0:9".parse().unwrap()
        );
        let bad = resolve_inet(Some(&"::1".into()), 5, false).unwrap_err();
        assert_eq!((bad.op, bad.errno), ("inet_aton", libc::EADDRNOTAVAIL));
        assert_eq!(packed(&a), vec![127, 0, 0, 1]);
    }
}
