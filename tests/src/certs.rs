//! Test certificates made with the `openssl` command: a CA, and server and client
//! certificates it signs (for 127.0.0.1 and localhost), valid for two days.

use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `ca.pem` and `ca.key` in `dir`.
pub fn authority(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=spangate-test-ca",
        ],
    );
}

/// `<name>.pem` and `<name>.key` in `dir`, signed by the CA there, with common name
/// `name`; `usage` is `serverAuth` or `clientAuth`.
pub fn signed(dir: &Path, name: &str, usage: &str) {
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n\
             basicConstraints=CA:FALSE\n"
        ),
    )
    .expect("write the certificate extensions");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

/// A CA with `server.pem`/`server.key` and `client.pem`/`client.key`.
pub fn authority_with_server_and_client(dir: &Path) {
    authority(dir);
    signed(dir, "server", "serverAuth");
    signed(dir, "client", "clientAuth");
}
