"""`colonies federation`: authority keys, membership certificates (docs/federation.md)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from colonies import crypto
from colonies.federation import identity, membership

from . import output

app = typer.Typer(
    help="Federation membership: authority keys and node certificates.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

DEFAULT_TTL_DAYS = 90


def _fail(message: str) -> NoReturn:
    output.error(message)
    raise typer.Exit(code=1)


def _utc(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@app.command()
def authority(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON {prvkey, id}.")] = False,
) -> None:
    """Generate a federation authority key pair and print it (keep the private key secret)."""
    prvkey = crypto.generate_private_key()
    authority_id = crypto.id_from_private_key(prvkey)
    if as_json:
        output.print_plain([json.dumps({"prvkey": prvkey, "id": authority_id})])
    else:
        output.print_plain(
            output.export_lines(
                {
                    "COLONIES_FEDERATION_AUTHORITY_PRVKEY": prvkey,
                    "COLONIES_FEDERATION_AUTHORITY_ID": authority_id,
                }
            )
        )
    output.err.print(
        "The private key signs membership certificates: keep it offline. "
        "Nodes only need the id (federation_authority_id)."
    )


@app.command()
def cert(
    authority_prvkey: Annotated[
        str,
        typer.Option(
            "--authority-prvkey",
            envvar="COLONIES_FEDERATION_AUTHORITY_PRVKEY",
            help="Authority private key (prefer the env var: flags show up in process lists).",
            show_default=False,
        ),
    ],
    node_id: Annotated[str, typer.Option("--node-id", help="The node's id (colonies federation node-id).")],
    api_url: Annotated[str, typer.Option("--api-url", help="Where peers reach the node's API, e.g. https://a.example:50080.")],
    dht_address: Annotated[str, typer.Option("--dht-address", help="The node's DHT address HOST:PORT (UDP).")],
    federation: Annotated[
        str, typer.Option("--federation", envvar="COLONIES_FEDERATION_NAME", help="Federation name.")
    ] = "colonies",
    ttl_days: Annotated[
        int, typer.Option("--ttl-days", min=1, max=36500, help="Days the certificate is valid.")
    ] = DEFAULT_TTL_DAYS,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", dir_okay=False, help="Write the certificate here (else stdout).")
    ] = None,
) -> None:
    """Issue a membership certificate for a node (run by the federation authority)."""
    try:
        certificate = membership.issue(
            authority_prvkey.strip(),
            federation=federation,
            node_id=node_id.strip().lower(),
            api_url=api_url,
            dht_address=dht_address,
            ttl_seconds=ttl_days * 86400,
        )
    except ValueError as err:
        _fail(f"cannot issue the certificate: {err}")
    if out is None:
        output.print_plain([membership.to_bytes(certificate).decode()])
        return
    try:
        identity.save_cert(out, certificate)
    except OSError as err:
        _fail(f"cannot write {out}: {err.strerror or err}")
    output.print_plain(
        [f"certificate for node {certificate.node_id} written to {out} (expires {_utc(certificate.expires)})"]
    )


@app.command()
def verify(
    cert_file: Annotated[str, typer.Option("--cert", help="Certificate file ('-' reads stdin).")],
    authority_id: Annotated[
        str,
        typer.Option("--authority-id", envvar="COLONIES_FEDERATION_AUTHORITY_ID", help="The trusted authority id."),
    ],
) -> None:
    """Check a certificate against an authority id and print what it says."""
    try:
        if cert_file == "-":
            certificate = membership.from_bytes(typer.get_binary_stream("stdin").read().strip())
        else:
            certificate = identity.load_cert(cert_file)
        membership.verify(certificate, authority_id=authority_id.strip().lower())
    except membership.MembershipError as err:
        _fail(err.message)
    except identity.IdentityError as err:
        _fail(str(err))
    output.print_plain(
        [
            "valid membership certificate",
            f"federation:  {certificate.federation}",
            f"node id:     {certificate.node_id}",
            f"api url:     {certificate.api_url}",
            f"dht address: {certificate.dht_address}",
            f"issued:      {_utc(certificate.issued)}",
            f"expires:     {_utc(certificate.expires)}",
            f"cert id:     {membership.cert_id(certificate)}",
        ]
    )


@app.command("node-id")
def node_id_command(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", file_okay=False, help="The node's data dir (node.key is created if absent).")
    ],
) -> None:
    """Print this node's federation id (the id to send to the authority for a certificate)."""
    try:
        prvkey = identity.load_or_create_key(data_dir)
    except (OSError, identity.IdentityError) as err:
        _fail(str(err))
    output.print_plain([crypto.id_from_private_key(prvkey)])
