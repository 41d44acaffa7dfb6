//! TLS and credentials on the listeners, through the binary and real clients:
//! - the OpenTelemetry Python SDK exports over TLS with a client certificate and a bearer
//!   token bound to a tenant, on OTLP/gRPC and OTLP/HTTP;
//! - missing or wrong credentials get HTTP 401 / gRPC UNAUTHENTICATED and say nothing
//!   more; `/ready` stays open; a changed tokens file is used without a restart;
//! - the query port over HTTPS requires a client certificate, and a replaced server
//!   certificate is served to new connections without a restart.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use base64::Engine;
use spangate_integration_tests::certs;
use spangate_integration_tests::fixtures::named_spans_request;
use spangate_integration_tests::harness::ClientTls;
use spangate_integration_tests::python_app::run_app;
use spangate_integration_tests::{GatewayOptions, TestGateway};

/// Reload interval of the files in these tests, and the bounded wait for a reload.
const RELOAD: &str = "200ms";
const RELOAD_POLLS: u32 = 100;
const RELOAD_PAUSE: Duration = Duration::from_millis(100);

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn tls_yaml(dir: &Path, client_ca: bool) -> String {
    let ca = if client_ca {
        format!(", client_ca_file: \"{}\"", path(dir, "ca.pem"))
    } else {
        String::new()
    };
    format!(
        "tls: {{ cert_file: \"{}\", key_file: \"{}\"{ca}, reload_interval: {RELOAD} }}\n",
        path(dir, "server.pem"),
        path(dir, "server.key"),
    )
}

fn bearer_yaml(file: &str) -> String {
    format!("auth: {{ bearer_tokens_file: \"{file}\", reload_interval: {RELOAD} }}\n")
}

fn basic(user_password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
    format!("Basic {encoded}")
}

/// `https://localhost:<port>` of a receiver URL `http://127.0.0.1:<port>`.
fn https(url: &str) -> String {
    url.replace("http://127.0.0.1", "https://localhost")
}

#[test]
fn the_python_sdk_exports_over_tls_with_a_client_certificate_and_a_tenant_token() {
    let dir = tempfile::tempdir().unwrap();
    certs::authority_with_server_and_client(dir.path());
    let tokens = path(dir.path(), "tokens");
    std::fs::write(&tokens, "# collectors of team a\ntoken-a team-a\n").unwrap();
    let receiver_access = format!("{}{}", tls_yaml(dir.path(), true), bearer_yaml(&tokens));
    let gw = TestGateway::start_with(GatewayOptions {
        grpc_extra: receiver_access.clone(),
        http_extra: receiver_access,
        extra_yaml: "multitenancy:\n  enabled: true\n".to_owned(),
        ..GatewayOptions::default()
    });
    let (ca, cert, key) = (
        path(dir.path(), "ca.pem"),
        path(dir.path(), "client.pem"),
        path(dir.path(), "client.key"),
    );
    let env = [
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str()),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert.as_str()),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", key.as_str()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20token-a",
        ),
    ];
    for (protocol, url) in [
        ("grpc", https(&gw.grpc_url())),
        ("http/protobuf", https(&gw.http_url())),
    ] {
        let summary = run_app(protocol, &url, true, &format!("tls-{protocol}"), &env);
        let traces = summary["traces"].as_array().expect("traces");
        assert!(!traces.is_empty(), "{summary}");
        for trace in traces {
            let id = trace["trace_id"].as_str().expect("trace_id");
            let path = format!("/api/traces/{id}");
            // The token's tenant holds the trace; another tenant does not see it.
            let own = gw.get_with(&path, &[("x-scope-orgid", "team-a")]);
            assert_eq!(own.status, 200, "{protocol}: {}", own.describe());
            let other = gw.get_with(&path, &[("x-scope-orgid", "team-b")]);
            assert_eq!(other.status, 404, "{protocol}: {}", other.describe());
        }
    }
}

#[test]
fn missing_or_wrong_credentials_are_refused_without_detail_and_token_files_reload() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = path(dir.path(), "tokens");
    std::fs::write(&tokens, "token-a\n").unwrap();
    let users = path(dir.path(), "users");
    std::fs::write(&users, "grafana:s3cret\n").unwrap();
    let gw = TestGateway::start_with(GatewayOptions {
        grpc_extra: bearer_yaml(&tokens),
        http_extra: bearer_yaml(&tokens),
        query_extra: format!("auth: {{ basic_auth_file: \"{users}\" }}\n"),
        ..GatewayOptions::default()
    });
    let request = || named_spans_request("auth-test", &["op"]).1;
    let post = |authorization: Option<&str>| {
        let mut headers = vec![("content-type", "application/x-protobuf")];
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        spangate_integration_tests::clients::http_request(
            "POST",
            &gw.traces_url(),
            &headers,
            Some(prost::Message::encode_to_vec(&request())),
        )
    };

    // OTLP/HTTP: 401 naming the schemes, and nothing about what was wrong.
    for authorization in [
        None,
        Some("Bearer token-b"),
        Some("Bearer token-"),
        Some("Basic dG9rZW4tYQ=="),
    ] {
        let refused = post(authorization);
        assert_eq!(
            refused.status,
            401,
            "{authorization:?}: {}",
            refused.describe()
        );
        let schemes = refused.headers.get_all("www-authenticate").iter().count();
        assert_eq!(schemes, 2, "{}", refused.describe());
        assert!(
            refused.body.is_empty(),
            "a refusal carries no detail: {}",
            refused.describe()
        );
    }
    assert_eq!(post(Some("Bearer token-a")).status, 200);

    // OTLP/gRPC: UNAUTHENTICATED, then accepted with the token.
    let grpc = gw.grpc();
    for metadata in [vec![], vec![("authorization", "Bearer token-b")]] {
        let status = grpc.export_with(&request(), false, &metadata).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert_eq!(status.message(), "missing or invalid credentials");
    }
    grpc.export_with(&request(), false, &[("authorization", "Bearer token-a")])
        .expect("accepted with the token");

    // The query API: basic auth on everything but /ready.
    assert_eq!(gw.get("/ready").status, 200);
    assert_eq!(gw.get("/api/echo").status, 401);
    assert_eq!(gw.get("/metrics").status, 401);
    let wrong = basic("grafana:s3cre");
    assert_eq!(
        gw.get_with("/api/echo", &[("authorization", &wrong)])
            .status,
        401
    );
    let right = basic("grafana:s3cret");
    assert_eq!(
        gw.get_with("/api/echo", &[("authorization", &right)])
            .status,
        200
    );
    let search = gw.get_with(
        "/api/search?tags=service.name%3Dauth-test",
        &[("authorization", &right)],
    );
    assert_eq!(search.status, 200, "{}", search.describe());

    // A rotated tokens file is used without a restart: the new token works and the old
    // one is refused, on both receivers.
    std::fs::write(&tokens, "token-b\n").unwrap();
    let rotated = (0..RELOAD_POLLS).any(|_| {
        let done = post(Some("Bearer token-b")).status == 200;
        if !done {
            sleep(RELOAD_PAUSE);
        }
        done
    });
    assert!(rotated, "the new token was never accepted\n{}", gw.logs());
    assert_eq!(post(Some("Bearer token-a")).status, 401);
    let status = grpc
        .export_with(&request(), false, &[("authorization", "Bearer token-a")])
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    grpc.export_with(&request(), false, &[("authorization", "Bearer token-b")])
        .expect("the new token on gRPC");
    // A broken file keeps the credentials in use.
    std::fs::write(&users, "no colon here\n").unwrap();
    gw.wait_for_log("reload failed; the previous files stay in use", 1);
    assert_eq!(
        gw.get_with("/api/echo", &[("authorization", &right)])
            .status,
        200
    );
}

/// What `openssl s_client` (with the client certificate) prints about the handshake
/// with the server on `port`, piped through `then` (a shell command).
fn s_client_then(dir: &Path, port: u16, options: &str, then: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} -servername localhost {options} \
             -cert client.pem -key client.key -CAfile ca.pem </dev/null 2>/dev/null {then}"
        ))
        .current_dir(dir)
        .output()
        .expect("run openssl s_client");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn s_client(dir: &Path, port: u16, options: &str) -> String {
    s_client_then(dir, port, options, "")
}

/// The common name of the certificate the server on `port` presents.
fn served_common_name(dir: &Path, port: u16) -> String {
    s_client_then(dir, port, "", "| openssl x509 -noout -subject")
}

#[test]
fn the_query_port_requires_client_certificates_and_reloads_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    certs::authority_with_server_and_client(dir.path());
    let identity = dir.path().join("client-identity.pem");
    let mut pem = std::fs::read(dir.path().join("client.pem")).unwrap();
    pem.extend(std::fs::read(dir.path().join("client.key")).unwrap());
    std::fs::write(&identity, pem).unwrap();
    let gw = TestGateway::start_with(GatewayOptions {
        query_extra: tls_yaml(dir.path(), true),
        query_tls: Some(ClientTls {
            ca: dir.path().join("ca.pem"),
            identity: Some(identity.clone()),
        }),
        ..GatewayOptions::default()
    });
    let url = format!("{}/api/echo", gw.query_url());
    let with_certificate = ClientTls {
        ca: dir.path().join("ca.pem"),
        identity: Some(identity),
    }
    .client();
    let answer = with_certificate
        .get(&url)
        .send()
        .expect("HTTPS with a client certificate");
    assert_eq!(answer.status().as_u16(), 200);
    // HTTP/2 is offered (Grafana's streaming search is gRPC on this port).
    let handshake = s_client(dir.path(), gw.ports().query, "-alpn h2");
    assert!(handshake.contains("ALPN protocol: h2"), "{handshake}");

    // Without a client certificate the handshake is refused; plain HTTP gets no answer.
    let without = ClientTls {
        ca: dir.path().join("ca.pem"),
        identity: None,
    }
    .client();
    assert!(
        without.get(&url).send().is_err(),
        "served without a client certificate"
    );
    let plain = url.replace("https://", "http://");
    let plain_answer = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(&plain)
        .send();
    assert!(
        plain_answer
            .as_ref()
            .map_or(true, |r| r.status().as_u16() != 200),
        "plain HTTP was served: {plain_answer:?}"
    );

    // Replace the certificate (as a secret update does): new connections get it.
    let port = gw.ports().query;
    assert_eq!(served_common_name(dir.path(), port), "subject=CN = server");
    certs::signed(dir.path(), "renewed", "serverAuth");
    std::fs::copy(
        dir.path().join("renewed.key"),
        dir.path().join("server.key"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("renewed.pem"),
        dir.path().join("server.pem"),
    )
    .unwrap();
    let renewed = (0..RELOAD_POLLS).any(|_| {
        let done = served_common_name(dir.path(), port) == "subject=CN = renewed";
        if !done {
            sleep(RELOAD_PAUSE);
        }
        done
    });
    assert!(
        renewed,
        "the renewed certificate was never served\n{}",
        gw.logs()
    );
    let answer = with_certificate
        .get(&url)
        .send()
        .expect("HTTPS after the renewal");
    assert_eq!(answer.status().as_u16(), 200);
}
