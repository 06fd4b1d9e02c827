// Package onion runs Debian's tor through bine and publishes cleandrop's two
// onion services: the source onion for whistleblowers and the officer onion
// for the desk. It knows nothing of HTTP or the vault: [Start] hands back one
// [net.Listener] per onion, each a unix socket in [Config.Dir], so the caller
// runs one http.Server per onion and the officer handler can never be
// reached through the source onion or over TCP.
//
// What it promises:
//
//   - Keys stay in Dir. Each onion's address comes from a 32-byte ed25519
//     seed kept in Dir (source.key, desk.key; 0600, Dir 0700); tor's own key
//     file is written from that seed, so an address is stable across restarts
//     and a fresh Dir gives new ones. [Addresses] reads them without tor.
//   - The officer onion is never published without v3 client authorization.
//     With no [ClientKey] at start it is not published at all ([Service.Desk]
//     is nil); [Service.SetClients] with an empty list takes it off the
//     network instead of leaving it open. Revoking an officer restarts tor,
//     because tor keeps its introduction points when only the clients
//     change and a revoked officer's cached descriptor would still lead in.
//   - Both onions run tor's proof-of-work DoS defence
//     (HiddenServicePoWDefensesEnabled).
//   - Nothing is logged about clients or their traffic: the logger gets
//     component events and counts, never addresses, client names or keys.
//     tor's own log (Dir/tor.log) runs at notice level with SafeLogging.
//   - tor dies with the process: it is owned by our control connection
//     (TAKEOWNERSHIP), watches our pid, and on Linux gets SIGTERM from the
//     kernel when its parent dies. [Service.Close] waits until it has exited.
//
// The subpackage testnet runs a private Tor network on 127.0.0.1 for tests.
package onion
