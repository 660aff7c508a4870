//! POE wheels: I/O state machines on the kernel. (Built in issue 4.)
