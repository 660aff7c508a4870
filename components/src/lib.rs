//! POE components: Server::TCP, Client::TCP and IKC. (Built in issues 5 and 6.)
