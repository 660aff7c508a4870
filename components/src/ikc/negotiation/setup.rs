//! The IKC0 `SETUP` line: `SETUP KERNEL=a,b;FREEZER=Storable;PID=123`.

/// A parsed SETUP line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setup {
    /// Kernel ID first, then the other names.
    pub kernel: Vec<String>,
    /// Serializer package names, in order of preference.
    pub freezer: Vec<String>,
    pub pid: Option<u32>,
}

impl Setup {
    /// Parse what follows `SETUP `, as leniently as Perl: items split on
    /// `;`, each `KERNEL=`, `FREEZER=` or `PID=` (matched anywhere in the
    /// item, in that order); values split on `,`. `None` is Perl's "bad
    /// SETUP": an empty or unknown item, or no kernel names.
    pub(crate) fn parse(items: &str) -> Option<Setup> {
        let mut setup = Setup {
            kernel: Vec::new(),
            freezer: Vec::new(),
            pid: None,
        };
        for item in items.split(';') {
            if let Some(v) = value_of(item, "KERNEL=") {
                setup.kernel.extend(v.split(',').map(str::to_owned));
            } else if let Some(v) = value_of(item, "FREEZER=") {
                setup.freezer.extend(v.split(',').map(str::to_owned));
            } else if let Some(digits) = pid_of(item) {
                setup.pid = digits.parse().ok();
            } else {
                return None;
            }
        }
        setup.kernel.retain(|k| !k.is_empty());
        (!setup.kernel.is_empty()).then_some(setup)
    }

    /// The line, as Perl writes it (without the terminator).
    pub(crate) fn line(names: &[String], freezers: &[&str], pid: u32) -> String {
        format!(
            "SETUP KERNEL={};FREEZER={};PID={pid}",
            names.join(","),
            freezers.join(",")
        )
    }
}

/// `NAME=(.+)` matched anywhere in the item.
fn value_of<'a>(item: &'a str, key: &str) -> Option<&'a str> {
    let at = item.find(key)?;
    let v = &item[at + key.len()..];
    (!v.is_empty()).then_some(v)
}

/// `PID=(\d+)` matched anywhere in the item.
fn pid_of(item: &str) -> Option<&str> {
    let v = item.find("PID=").map(|at| &item[at + 4..])?;
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    (end > 0).then_some(&v[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_perl_client_setup_line_parses() {
        let s = Setup::parse("KERNEL=vm-6b0125d2-0000322e-00000001,perlcli,127.0.0.1:39428;FREEZER=Storable,POE::Component::IKC::Freezer;PID=12846").unwrap();
        assert_eq!(
            s.kernel,
            [
                "vm-6b0125d2-0000322e-00000001",
                "perlcli",
                "127.0.0.1:39428"
            ]
        );
        assert_eq!(s.freezer, ["Storable", "POE::Component::IKC::Freezer"]);
        assert_eq!(s.pid, Some(12846));
    }

    #[test]
    fn bad_setups_are_refused_as_perl_refuses_them() {
        for bad in [
            "FREEZER=Storable",
            ";KERNEL=a",
            "KERNEL=a;BOGUS=1",
            "KERNEL=",
            "",
        ] {
            assert_eq!(Setup::parse(bad), None, "{bad:?}");
        }
        // Repeated KERNEL items concatenate.
        assert_eq!(
            Setup::parse("KERNEL=a;KERNEL=b").unwrap().kernel,
            ["a", "b"]
        );
    }

    #[test]
    fn lines_are_written_in_perls_form() {
        let names = vec!["id-1".to_owned(), "worker".to_owned()];
        assert_eq!(
            Setup::line(&names, &["Storable"], 42),
            "SETUP KERNEL=id-1,worker;FREEZER=Storable;PID=42"
        );
    }
}
