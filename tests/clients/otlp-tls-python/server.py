"""OTLP/gRPC and OTLP/HTTP (protobuf) receivers over TLS that require a client
certificate signed by --ca. Each export is acknowledged and recorded as one JSON line in
--out: {"transport": "grpc"|"http", "spans": N, "org_id": "..."|null}. Runs until
killed."""

import argparse
import gzip
import json
import ssl
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

LOCK = threading.Lock()


def record(out, transport, request, org_id):
    spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    line = json.dumps({"transport": transport, "spans": spans, "org_id": org_id})
    with LOCK, open(out, "a", encoding="utf-8") as f:
        f.write(line + "\n")


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, out):
        self.out = out

    def Export(self, request, context):
        metadata = dict(context.invocation_metadata())
        record(self.out, "grpc", request, metadata.get("x-scope-orgid"))
        return trace_service_pb2.ExportTraceServiceResponse()


def http_handler(out):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            record(out, "http", request, self.headers.get("X-Scope-OrgID"))
            answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    for name in ("cert", "key", "ca", "out"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    with open(args.cert, "rb") as c, open(args.key, "rb") as k, open(args.ca, "rb") as ca:
        cert, key, root = c.read(), k.read(), ca.read()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(args.out), server)
    credentials = grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=root, require_client_auth=True
    )
    server.add_secure_port(f"127.0.0.1:{args.grpc_port}", credentials)
    server.start()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.load_verify_locations(args.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler(args.out))
    http.socket = context.wrap_socket(http.socket, server_side=True)
    print("ready", flush=True)
    http.serve_forever()


if __name__ == "__main__":
    main()
