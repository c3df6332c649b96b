"""One scenario, run by each Python client against a running coreweave-mock.

connect-python (``connectrpc``) over Connect, gRPC and gRPC-Web, binary and JSON, at its
defaults (which gzip every request); grpcio with and without gzip; and requests with the
documentation's REST bodies. Prints one JSON line per step:
``{"client", "protocol", "variant", "step", "ok", "error"}``.

Usage: ``python scenario.py ENDPOINT`` with the generated stubs on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc
import httpx
import requests
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.errors import ConnectError
from connectrpc.protocol import ProtocolType
from google.protobuf import field_mask_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from health import health_connect
from coreweave.inference.v1alpha1 import gateway_connect, gateway_pb2
from coreweave.networking.v1beta1 import vpc_connect, vpc_pb2, vpc_pb2_grpc

TOKEN = "CW-SECRET-python-clients"
HEADERS = {"authorization": f"Bearer {TOKEN}"}
ZONE = "US-EAST-04A"

Step = tuple[str, Callable[[], None]]


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def run(client: str, protocol: str, variant: str, steps: list[Step]) -> None:
    """Runs every step, printing each outcome; a failed step skips none."""
    for name, body in steps:
        row = {"client": client, "protocol": protocol, "variant": variant, "step": name, "ok": True}
        try:
            body()
        except Exception as error:  # noqa: BLE001 - every failure is reported, not raised
            row.update(ok=False, error=f"{type(error).__name__}: {error}"[:300])
        print(json.dumps(row), flush=True)


def connect_steps(endpoint: str, protocol: ProtocolType, json_codec: bool, label: str) -> list[Step]:
    options = {"protocol": protocol}
    if json_codec:
        options["codec"] = google_protobuf_json_codec()
    vpcs = vpc_connect.VPCServiceClientSync(endpoint, **options)
    gateways = gateway_connect.GatewayServiceClientSync(endpoint, **options)
    health = health_connect.HealthClientSync(endpoint, **options)
    name = f"py-{label}"[:30]
    state: dict[str, str] = {}

    def fails_with(call: Callable[[], object], code: Code, detail: str) -> None:
        try:
            call()
        except ConnectError as error:
            check(error.code == code, f"expected {code}, got {error.code}: {error.message}")
            types = [d.type_name for d in error.details]
            check(detail in types, f"no {detail} in {types}")
            return
        raise AssertionError(f"expected {code}, the call succeeded")

    def create_vpc() -> None:
        answer = vpcs.create_vpc(vpc_pb2.CreateVPCRequest(name=name, zone=ZONE), headers=HEADERS)
        state["id"] = answer.vpc.id
        check(bool(state["id"]), "no id")

    def update_vpc() -> None:
        request = vpc_pb2.UpdateVPCRequest(
            id=state["id"],
            ingress=vpc_pb2.Ingress(disable_public_services=True),
            update_mask=field_mask_pb2.FieldMask(paths=["ingress.disable_public_services"]),
        )
        answer = vpcs.update_vpc(request, headers=HEADERS)
        check(answer.vpc.ingress.disable_public_services, "not updated")

    def create_gateway() -> None:
        request = gateway_pb2.CreateGatewayRequest(
            name=name,
            core_weave_auth=gateway_pb2.CoreWeaveAuth(),
            body_based_routing=gateway_pb2.BodyBasedRouting(api_type=1),
        )
        state["gateway"] = gateways.create_gateway(request, headers=HEADERS).gateway.spec.id

    def health_watch() -> None:
        for answer in health.watch(health_pb2.HealthCheckRequest()):
            check(answer.status == health_pb2.HealthCheckResponse.SERVING, f"status {answer.status}")
            break

    get_missing = vpc_pb2.GetVPCRequest(id=str(uuid.uuid4()))
    return [
        ("health check", lambda: check(
            health.check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING,
            "not SERVING")),
        ("health watch", health_watch),
        ("create VPC", create_vpc),
        ("get VPC", lambda: check(
            vpcs.get_vpc(vpc_pb2.GetVPCRequest(id=state["id"]), headers=HEADERS).vpc.name == name,
            "another VPC")),
        ("list VPCs", lambda: check(
            any(v.id == state["id"] for v in vpcs.list_vp_cs(vpc_pb2.ListVPCsRequest(), headers=HEADERS).items),
            "not listed")),
        ("update VPC with a mask", update_vpc),
        ("NOT_FOUND with ResourceInfo", lambda: fails_with(
            lambda: vpcs.get_vpc(get_missing, headers=HEADERS), Code.NOT_FOUND, "google.rpc.ResourceInfo")),
        ("INVALID_ARGUMENT with BadRequest", lambda: fails_with(
            lambda: vpcs.create_vpc(vpc_pb2.CreateVPCRequest(zone=ZONE), headers=HEADERS),
            Code.INVALID_ARGUMENT, "google.rpc.BadRequest")),
        ("create gateway", create_gateway),
        ("get gateway", lambda: check(
            gateways.get_gateway(gateway_pb2.GetGatewayRequest(id=state["gateway"]), headers=HEADERS)
            .gateway.spec.id == state["gateway"], "another gateway")),
        ("delete gateway", lambda: gateways.delete_gateway(
            gateway_pb2.DeleteGatewayRequest(id=state["gateway"]), headers=HEADERS)),
        ("delete VPC", lambda: vpcs.delete_vpc(vpc_pb2.DeleteVPCRequest(id=state["id"]), headers=HEADERS)),
    ]


@contextmanager
def grpc_channel(endpoint: str, gzip: bool) -> Iterator[grpc.Channel]:
    compression = grpc.Compression.Gzip if gzip else None
    with grpc.insecure_channel(endpoint.removeprefix("http://"), compression=compression) as channel:
        yield channel


def grpcio_steps(channel: grpc.Channel, label: str) -> list[Step]:
    vpcs = vpc_pb2_grpc.VPCServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    metadata = tuple(HEADERS.items())
    name = f"grpcio-{label}"
    state: dict[str, str] = {}

    def fails_with(call: Callable[[], object], code: grpc.StatusCode, detail: str) -> None:
        try:
            call()
        except grpc.RpcError as error:
            check(error.code() == code, f"expected {code}, got {error.code()}: {error.details()}")
            trailers = dict(error.trailing_metadata() or ())
            check(detail.encode() in trailers.get("grpc-status-details-bin", b""), f"no {detail}")
            return
        raise AssertionError(f"expected {code}, the call succeeded")

    def create_vpc() -> None:
        state["id"] = vpcs.CreateVPC(vpc_pb2.CreateVPCRequest(name=name, zone=ZONE), metadata=metadata).vpc.id

    def update_vpc() -> None:
        request = vpc_pb2.UpdateVPCRequest(
            id=state["id"],
            ingress=vpc_pb2.Ingress(disable_public_services=True),
            update_mask=field_mask_pb2.FieldMask(paths=["ingress.disable_public_services"]),
        )
        check(vpcs.UpdateVPC(request, metadata=metadata).vpc.ingress.disable_public_services, "not updated")

    def health_watch() -> None:
        stream = health.Watch(health_pb2.HealthCheckRequest())
        answer = next(stream)
        stream.cancel()
        check(answer.status == health_pb2.HealthCheckResponse.SERVING, f"status {answer.status}")

    missing = vpc_pb2.GetVPCRequest(id=str(uuid.uuid4()))
    return [
        ("health check", lambda: check(
            health.Check(health_pb2.HealthCheckRequest()).status
            == health_pb2.HealthCheckResponse.SERVING, "not SERVING")),
        ("health watch", health_watch),
        ("create VPC", create_vpc),
        ("get VPC", lambda: check(
            vpcs.GetVPC(vpc_pb2.GetVPCRequest(id=state["id"]), metadata=metadata).vpc.name == name,
            "another VPC")),
        ("list VPCs", lambda: check(
            any(v.id == state["id"] for v in vpcs.ListVPCs(vpc_pb2.ListVPCsRequest(), metadata=metadata).items),
            "not listed")),
        ("update VPC with a mask", update_vpc),
        ("NOT_FOUND with ResourceInfo", lambda: fails_with(
            lambda: vpcs.GetVPC(missing, metadata=metadata), grpc.StatusCode.NOT_FOUND, "google.rpc.ResourceInfo")),
        ("INVALID_ARGUMENT with BadRequest", lambda: fails_with(
            lambda: vpcs.CreateVPC(vpc_pb2.CreateVPCRequest(zone=ZONE), metadata=metadata),
            grpc.StatusCode.INVALID_ARGUMENT, "google.rpc.BadRequest")),
        ("delete VPC", lambda: vpcs.DeleteVPC(vpc_pb2.DeleteVPCRequest(id=state["id"]), metadata=metadata)),
    ]


def rest_steps(endpoint: str, session: requests.Session | httpx.Client, label: str) -> list[Step]:
    """The documentation's curl bodies, sent by an HTTP client at its defaults (both accept gzip)."""
    session.headers.update(HEADERS)
    name = f"rest-{label}"
    vpcs = f"{endpoint}/v1beta1/networking/vpcs"
    gateways = f"{endpoint}/v1alpha1/inference/gateways"
    state: dict[str, str] = {}

    def ok(response: requests.Response | httpx.Response) -> dict:
        check(response.status_code == 200, f"HTTP {response.status_code}: {response.text[:200]}")
        return response.json()

    def fails_with(response: requests.Response | httpx.Response, status: int, detail: str) -> None:
        check(response.status_code == status, f"HTTP {response.status_code}: {response.text[:200]}")
        types = [d.get("@type", "") for d in response.json().get("details", [])]
        check(any(t.endswith(detail) for t in types), f"no {detail} in {types}")

    def create_vpc() -> None:
        body = {"name": name, "zone": ZONE, "vpcPrefixes": [{"name": "p", "value": "10.1.0.0/16"}]}
        state["id"] = ok(session.post(vpcs, json=body))["vpc"]["id"]

    def get_vpc() -> None:
        response = session.get(f"{vpcs}/{state['id']}")
        check(response.headers.get("content-encoding") == "gzip", "the answer was not compressed")
        check(ok(response)["vpc"]["name"] == name, "another VPC")

    def create_gateway() -> None:
        body = {"name": name, "coreWeaveAuth": {}, "bodyBasedRouting": {"apiType": "API_TYPE_OPENAI"}}
        state["gateway"] = ok(session.post(gateways, json=body))["gateway"]["spec"]["id"]

    return [
        ("create VPC", create_vpc),
        ("get VPC", get_vpc),
        ("list VPCs", lambda: check(any(v["id"] == state["id"] for v in ok(session.get(vpcs))["items"]),
                                    "not listed")),
        ("update VPC with a mask", lambda: check(
            ok(session.patch(f"{vpcs}/{state['id']}",
                             json={"ingress": {"disablePublicServices": True},
                                   "updateMask": "ingress.disablePublicServices"}))
            ["vpc"]["ingress"]["disablePublicServices"] is True, "not updated")),
        ("NOT_FOUND with ResourceInfo", lambda: fails_with(
            session.get(f"{vpcs}/{uuid.uuid4()}"), 404, "google.rpc.ResourceInfo")),
        ("INVALID_ARGUMENT with BadRequest", lambda: fails_with(
            session.post(vpcs, json={"zone": ZONE}), 400, "google.rpc.BadRequest")),
        ("create gateway", create_gateway),
        ("get gateway", lambda: check(
            ok(session.get(f"{gateways}/{state['gateway']}"))["gateway"]["spec"]["id"] == state["gateway"],
            "another gateway")),
        ("delete gateway", lambda: ok(session.delete(f"{gateways}/{state['gateway']}"))),
        ("delete VPC", lambda: ok(session.delete(f"{vpcs}/{state['id']}"))),
        ("health check", lambda: check(session.get(f"{endpoint}/healthz").status_code == 200, "not SERVING")),
    ]


def main() -> None:
    endpoint = sys.argv[1]
    variants = [
        ("Connect", "defaults (binary, gzip)", ProtocolType.CONNECT, False),
        ("Connect", "JSON, gzip", ProtocolType.CONNECT, True),
        ("gRPC-Web", "defaults (binary, gzip)", ProtocolType.GRPC_WEB, False),
        ("gRPC-Web", "JSON, gzip", ProtocolType.GRPC_WEB, True),
        ("gRPC", "defaults (binary, gzip)", ProtocolType.GRPC, False),
        ("gRPC", "JSON, gzip", ProtocolType.GRPC, True),
    ]
    for index, (protocol, variant, protocol_type, json_codec) in enumerate(variants):
        label = f"{index}-{uuid.uuid4().hex[:8]}"
        run("connect-python", protocol, variant, connect_steps(endpoint, protocol_type, json_codec, label))
    for gzip in (False, True):
        with grpc_channel(endpoint, gzip) as channel:
            variant = "gzip" if gzip else "defaults"
            run("grpcio", "gRPC", variant, grpcio_steps(channel, variant))
    with requests.Session() as session:
        run("requests", "REST", "defaults (accepts gzip)", rest_steps(endpoint, session, "requests"))
    with httpx.Client() as client:
        run("httpx", "REST", "defaults (accepts gzip)", rest_steps(endpoint, client, "httpx"))


if __name__ == "__main__":
    main()
