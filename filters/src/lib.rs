//! POE filters: framing between bytes and records. (Built in issue 3.)
