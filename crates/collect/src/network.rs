//! Where a department's source may be (源库网络策略). A source address is a request to
//! make the platform connect somewhere: left open, it lets a department's staff reach the
//! platform's own database, its host's local services, the cloud's metadata service or
//! any internal address, and read the answers back through quarantine files and error
//! texts (SSRF). So a source connects only to networks the bureau allows, never to the
//! platform's own database or listening address, never through a local socket, and to the
//! address it was checked at (resolved once, then pinned), and its errors say only that
//! the connection failed.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::CollectError;

/// The networks sources may connect to, the addresses they never may, and how long a
/// source may keep the platform waiting.
#[derive(Debug, Clone, Default)]
pub struct SourcePolicy {
    /// Networks (CIDR) the bureau allows sources in, e.g. the e-government network's
    /// `10.0.0.0/8`. Empty: no source may connect anywhere.
    pub allowed: Vec<IpNet>,
    /// The platform's own database server and listening address: refused even inside an
    /// allowed network.
    pub forbidden: Vec<SocketAddr>,
    pub timeouts: SourceTimeouts,
}

/// How long a source may stay silent. A department's database that stops answering must
/// fail its pull, never hold a scheduler slot or a batch connection forever.
#[derive(Debug, Clone, Copy)]
pub struct SourceTimeouts {
    /// Connecting (TCP, TLS, authentication).
    pub connect: std::time::Duration,
    /// Waiting for any one answer: the columns, the clock, the next row or key.
    pub idle: std::time::Duration,
}

impl Default for SourceTimeouts {
    fn default() -> Self {
        Self {
            connect: std::time::Duration::from_secs(15),
            idle: std::time::Duration::from_secs(120),
        }
    }
}

/// Query parameters a source address may carry: none that changes where it connects or
/// holds a credential (`host`, `hostaddr`, `socket`, `password`, …).
const ALLOWED_PARAMETERS: [&str; 4] = ["sslmode", "ssl-mode", "charset", "application_name"];

/// A checked source address: the URL with its host replaced by the address it resolved to.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub url: String,
    pub address: SocketAddr,
}

fn refused(reason: &str) -> CollectError {
    CollectError::NotAllowed(format!("数据源地址不可用：{reason}"))
}

impl SourcePolicy {
    /// Parses `source_networks` as configured: CIDR blocks or single addresses.
    pub fn parse(allowed: &[String], forbidden: Vec<SocketAddr>) -> Result<Self, String> {
        let allowed = allowed
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("source_networks: “{text}” is not a CIDR block or address")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed,
            forbidden,
            timeouts: SourceTimeouts::default(),
        })
    }

    /// Checks a source URL and resolves its host once: every address it resolves to must
    /// be allowed, and the connection is then made to that address only (a later DNS
    /// answer cannot move it).
    pub async fn check(&self, kind: &'static str, url: &str) -> Result<Target, CollectError> {
        let parsed = url::Url::parse(url).map_err(|_| refused("无法解析连接地址"))?;
        for (name, _) in parsed.query_pairs() {
            if !ALLOWED_PARAMETERS.contains(&name.as_ref()) {
                return Err(refused(&format!(
                    "连接地址不能带参数“{name}”（密码请写在 用户名:密码@ 中，主机和端口写在地址中）"
                )));
            }
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(domain)) if !domain.is_empty() => domain.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(refused("连接地址须写明主机（不能使用本机套接字）")),
        };
        let port = parsed.port().unwrap_or(match kind {
            "postgres" => 5432,
            _ => 3306,
        });
        let addresses: Vec<SocketAddr> = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| refused("主机名解析超时"))?
        .map_err(|_| refused("主机名无法解析"))?
        .collect();
        let first = *addresses.first().ok_or_else(|| refused("主机名无法解析"))?;
        for address in &addresses {
            self.admits(*address)?;
        }
        let mut pinned = parsed.clone();
        pinned
            .set_ip_host(first.ip())
            .map_err(|_| refused("无法解析连接地址"))?;
        pinned.set_port(Some(first.port())).ok();
        Ok(Target {
            kind,
            url: pinned.to_string(),
            address: first,
        })
    }

    fn admits(&self, address: SocketAddr) -> Result<(), CollectError> {
        let ip = canonical(address.ip());
        let outside = "不在管理方允许的数据源网络范围内（配置项 source_networks）";
        if ip.is_unspecified() || ip.is_multicast() || is_link_local(ip) {
            return Err(refused(outside));
        }
        if self
            .forbidden
            .iter()
            .any(|f| f.port() == address.port() && same_host(canonical(f.ip()), ip))
        {
            return Err(refused("不能连接平台自身的数据库或服务"));
        }
        if !self.allowed.iter().any(|net| net.contains(&ip)) {
            return Err(refused(outside));
        }
        Ok(())
    }
}

/// Whether `target` reaches the host of `forbidden`: the same address, or, when the
/// platform listens on every interface (0.0.0.0) or on loopback (a `localhost` database
/// listening on all interfaces), any address of this machine.
fn same_host(forbidden: IpAddr, target: IpAddr) -> bool {
    forbidden == target
        || ((forbidden.is_unspecified() || forbidden.is_loopback()) && is_this_machine(target))
}

/// An address of this machine: loopback, or one a socket can be bound to.
fn is_this_machine(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// 169.254.0.0/16 and fe80::/10: where cloud metadata services answer.
fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> SourcePolicy {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        SourcePolicy::parse(&allowed, vec!["127.0.0.1:5432".parse().unwrap()]).unwrap()
    }

    #[tokio::test]
    async fn nothing_is_allowed_until_the_bureau_allows_a_network() {
        let closed = SourcePolicy::default();
        for url in [
            "postgres://u:p@10.1.2.3/db",
            "mysql://root@127.0.0.1:3306/test",
        ] {
            let error = closed.check("postgres", url).await.unwrap_err();
            assert!(
                matches!(error, CollectError::NotAllowed(_)),
                "{url}: {error}"
            );
        }
        let open = policy(&["10.0.0.0/8"]);
        let target = open
            .check("postgres", "postgres://u:p@10.1.2.3/db")
            .await
            .unwrap();
        assert_eq!(target.address, "10.1.2.3:5432".parse().unwrap());
    }

    #[tokio::test]
    async fn refuses_sockets_credentials_in_parameters_metadata_and_the_platform() {
        let open = policy(&["0.0.0.0/0", "::/0"]);
        for url in [
            "postgres:///postgres?host=/var/run/postgresql",
            "postgres://u@/postgres",
            "postgres://u@10.0.0.1/db?password=secret",
            "postgres://u@10.0.0.1/db?hostaddr=127.0.0.1",
            "mysql://root@10.0.0.1/db?socket=/run/mysqld/mysqld.sock",
            "postgres://u@169.254.169.254/db",
            "postgres://u@0.0.0.0/db",
            "postgres://u@[::ffff:127.0.0.1]:5432/db",
            "postgres://u@127.0.0.1:5432/other",
        ] {
            let error = open.check("postgres", url).await.unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(error, CollectError::NotAllowed(_)),
                "{url}: {text}"
            );
            assert!(!text.contains("secret"), "{text}");
        }
        // The same server on another port is another service, and may be allowed.
        assert!(open
            .check("postgres", "postgres://u@127.0.0.1:6543/db")
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn the_platform_listening_on_every_interface_is_refused_at_any_of_its_addresses() {
        let wildcard = SourcePolicy::parse(
            &["127.0.0.0/8".to_string()],
            vec![
                "0.0.0.0:19001".parse().unwrap(),
                "127.0.0.1:5432".parse().unwrap(),
            ],
        )
        .unwrap();
        for url in [
            "postgres://u@127.0.0.1:19001/db",
            "postgres://u@127.0.0.2:19001/db",
            // A database on localhost may listen on every address of the machine.
            "postgres://u@127.0.0.2:5432/db",
        ] {
            let error = wildcard.check("postgres", url).await.unwrap_err();
            assert!(
                error.to_string().contains("不能连接平台自身的数据库或服务"),
                "{url}: {error}"
            );
        }
        assert!(wildcard
            .check("postgres", "postgres://u@127.0.0.2:6543/db")
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn the_connection_goes_to_the_address_that_was_checked() {
        let open = policy(&["127.0.0.0/8", "::1/128"]);
        let target = open
            .check(
                "mysql",
                "mysql://root:pw@localhost:3306/test?charset=utf8mb4",
            )
            .await
            .unwrap();
        assert!(target.address.ip().is_loopback(), "{:?}", target.address);
        assert!(!target.url.contains("localhost"), "pinned: {}", target.url);
        assert!(target.url.contains("root:pw@"), "{}", target.url);
        assert!(SourcePolicy::parse(&["not a network".into()], vec![]).is_err());
    }
}
