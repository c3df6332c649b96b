// One scenario, run by each Node.js client against a running coreweave-mock:
// connect-es over Connect, gRPC and gRPC-Web (binary and JSON, with and without gzip,
// HTTP/1.1 and HTTP/2), and @grpc/grpc-js. Prints one JSON line per step:
// {"client", "protocol", "variant", "step", "ok", "error"}. Usage: node scenario.mjs ENDPOINT
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { VPCService } from "./gen/coreweave/networking/v1beta1/vpc_pb.js";
import { GatewayService } from "./gen/coreweave/inference/v1alpha1/gateway_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";

const endpoint = process.argv[2];
const token = "CW-SECRET-node-clients";
const zone = "US-EAST-04A";

function check(condition, what) {
  if (!condition) throw new Error(what);
}

/** Runs the steps for one client, printing each outcome; a failed step skips none. */
async function run(client, protocol, variant, steps) {
  for (const [step, body] of steps) {
    const row = { client, protocol, variant, step, ok: true };
    try {
      await body();
    } catch (error) {
      row.ok = false;
      row.error = String(error?.message ?? error).slice(0, 300);
    }
    console.log(JSON.stringify(row));
  }
}

/** The scenario's steps over connect-es clients of one transport. */
function connectSteps(transport, label) {
  const headers = { authorization: `Bearer ${token}` };
  const vpcs = createClient(VPCService, transport);
  const gateways = createClient(GatewayService, transport);
  const health = createClient(Health, transport);
  const name = `es-${label}`.slice(0, 30);
  let id;
  let gatewayId;
  const failsWith = async (call, code, detailType) => {
    try {
      await call();
    } catch (error) {
      const err = ConnectError.from(error);
      check(err.code === code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.message}`);
      const types = err.details.map((detail) => detail.type ?? detail.desc?.typeName);
      check(types.includes(detailType), `no ${detailType} in the details: ${JSON.stringify(types)}`);
      return;
    }
    throw new Error(`expected ${Code[code]}, the call succeeded`);
  };
  return [
    ["health check", async () => {
      const answer = await health.check({});
      check(answer.status === HealthCheckResponse_ServingStatus.SERVING, `status ${answer.status}`);
    }],
    ["health watch", async () => {
      const controller = new AbortController();
      for await (const answer of health.watch({}, { signal: controller.signal })) {
        check(answer.status === HealthCheckResponse_ServingStatus.SERVING, `status ${answer.status}`);
        controller.abort();
        break;
      }
    }],
    ["create VPC", async () => {
      const answer = await vpcs.createVPC({ name, zone }, { headers });
      id = answer.vpc?.id;
      check(id, "no id");
    }],
    ["get VPC", async () => {
      const answer = await vpcs.getVPC({ id }, { headers });
      check(answer.vpc?.name === name, `name ${answer.vpc?.name}`);
    }],
    ["list VPCs", async () => {
      const answer = await vpcs.listVPCs({}, { headers });
      check(answer.items.some((vpc) => vpc.id === id), "not listed");
    }],
    ["update VPC with a mask", async () => {
      const answer = await vpcs.updateVPC(
        {
          id,
          ingress: { disablePublicServices: true },
          updateMask: { paths: ["ingress.disable_public_services"] },
        },
        { headers },
      );
      check(answer.vpc?.ingress?.disablePublicServices === true, "not updated");
    }],
    ["NOT_FOUND with ResourceInfo", () =>
      failsWith(() => vpcs.getVPC({ id: randomUUID() }, { headers }), Code.NotFound, "google.rpc.ResourceInfo")],
    ["INVALID_ARGUMENT with BadRequest", () =>
      failsWith(() => vpcs.createVPC({ zone }, { headers }), Code.InvalidArgument, "google.rpc.BadRequest")],
    ["create gateway", async () => {
      const answer = await gateways.createGateway(
        {
          name,
          auth: { case: "coreWeaveAuth", value: {} },
          routing: { case: "bodyBasedRouting", value: { apiType: 1 } },
        },
        { headers },
      );
      gatewayId = answer.gateway?.spec?.id;
      check(gatewayId, "no id");
    }],
    ["get gateway", async () => {
      const answer = await gateways.getGateway({ id: gatewayId }, { headers });
      check(answer.gateway?.spec?.id === gatewayId, "another gateway");
    }],
    ["delete gateway", async () => {
      await gateways.deleteGateway({ id: gatewayId }, { headers });
    }],
    ["delete VPC", async () => {
      await vpcs.deleteVPC({ id }, { headers });
    }],
  ];
}

/** The same scenario over @grpc/grpc-js with stubs loaded from the .proto files. */
function grpcJsSteps(gzip) {
  const definition = protoLoader.loadSync(
    ["coreweave/networking/v1beta1/vpc.proto", "grpc/health/v1/health.proto"],
    { includeDirs: ["../../proto", "../proto"], keepCase: true, defaults: true, enums: String },
  );
  const loaded = grpc.loadPackageDefinition(definition);
  const address = endpoint.replace(/^http:\/\//, "");
  const options = gzip ? { "grpc.default_compression_algorithm": 2 } : {};
  const credentials = grpc.credentials.createInsecure();
  const vpcs = new loaded.coreweave.networking.v1beta1.VPCService(address, credentials, options);
  const health = new loaded.grpc.health.v1.Health(address, credentials, options);
  const metadata = () => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return metadata;
  };
  const call = (client, method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, metadata(), (error, answer) => (error ? reject(error) : resolve(answer))),
    );
  const failsWith = async (promise, code, detailType) => {
    try {
      await promise;
    } catch (error) {
      check(error.code === code, `expected code ${code}, got ${error.code}: ${error.details}`);
      const details = error.metadata?.get("grpc-status-details-bin")?.[0];
      check(details && details.includes(detailType), `no ${detailType} in grpc-status-details-bin`);
      return;
    }
    throw new Error(`expected code ${code}, the call succeeded`);
  };
  const name = gzip ? "grpc-js-gzip" : "grpc-js";
  let id;
  return [
    ["health check", async () => {
      const answer = await call(health, "Check", {});
      check(answer.status === "SERVING", `status ${answer.status}`);
    }],
    ["health watch", () =>
      new Promise((resolve, reject) => {
        const stream = health.Watch({}, metadata());
        stream.on("data", (answer) => {
          stream.cancel();
          answer.status === "SERVING" ? resolve() : reject(new Error(`status ${answer.status}`));
        });
        stream.on("error", (error) => error.code === grpc.status.CANCELLED || reject(error));
      })],
    ["create VPC", async () => {
      id = (await call(vpcs, "CreateVPC", { name, zone })).vpc.id;
      check(id, "no id");
    }],
    ["get VPC", async () => {
      check((await call(vpcs, "GetVPC", { id })).vpc.name === name, "another VPC");
    }],
    ["list VPCs", async () => {
      check((await call(vpcs, "ListVPCs", {})).items.some((vpc) => vpc.id === id), "not listed");
    }],
    ["update VPC with a mask", async () => {
      const answer = await call(vpcs, "UpdateVPC", {
        id,
        ingress: { disable_public_services: true },
        update_mask: { paths: ["ingress.disable_public_services"] },
      });
      check(answer.vpc.ingress.disable_public_services === true, "not updated");
    }],
    ["NOT_FOUND with ResourceInfo", () =>
      failsWith(call(vpcs, "GetVPC", { id: randomUUID() }), grpc.status.NOT_FOUND, "google.rpc.ResourceInfo")],
    ["INVALID_ARGUMENT with BadRequest", () =>
      failsWith(call(vpcs, "CreateVPC", { zone }), grpc.status.INVALID_ARGUMENT, "google.rpc.BadRequest")],
    ["delete VPC", async () => {
      await call(vpcs, "DeleteVPC", { id });
    }],
  ];
}

const gzip = { sendCompression: compressionGzip, acceptCompression: [compressionGzip] };
const connectVariants = [
  ["Connect", "defaults (JSON, HTTP/1.1)", createConnectTransport({ baseUrl: endpoint, httpVersion: "1.1" })],
  ["Connect", "binary, HTTP/1.1", createConnectTransport({ baseUrl: endpoint, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect", "binary, HTTP/2", createConnectTransport({ baseUrl: endpoint, httpVersion: "2", useBinaryFormat: true })],
  ["Connect", "JSON, gzip, HTTP/2", createConnectTransport({ baseUrl: endpoint, httpVersion: "2", ...gzip })],
  ["gRPC", "defaults (binary, HTTP/2)", createGrpcTransport({ baseUrl: endpoint })],
  ["gRPC", "JSON", createGrpcTransport({ baseUrl: endpoint, useBinaryFormat: false })],
  ["gRPC", "gzip", createGrpcTransport({ baseUrl: endpoint, ...gzip })],
  ["gRPC-Web", "defaults (binary, HTTP/1.1)", createGrpcWebTransport({ baseUrl: endpoint, httpVersion: "1.1" })],
  ["gRPC-Web", "JSON, HTTP/1.1", createGrpcWebTransport({ baseUrl: endpoint, httpVersion: "1.1", useBinaryFormat: false })],
  ["gRPC-Web", "binary, gzip, HTTP/2", createGrpcWebTransport({ baseUrl: endpoint, httpVersion: "2", ...gzip })],
];

for (const [index, [protocol, variant, transport]] of connectVariants.entries()) {
  await run("connect-es", protocol, variant, connectSteps(transport, `${index}-${randomUUID().slice(0, 8)}`));
}
await run("@grpc/grpc-js", "gRPC", "defaults", grpcJsSteps(false));
await run("@grpc/grpc-js", "gRPC", "gzip", grpcJsSteps(true));
process.exit(0);
