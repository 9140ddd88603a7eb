//! A county PKI made by the test itself (rcgen): a test CA, and server certificates for it —
//! valid, expired, issued for another host, or from a CA nobody trusts — written as PEM files
//! the way IT puts them on a server.

use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate authority of the test.
pub struct TestCa {
    cert: Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa(<key redacted>)")
    }
}

/// A server certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How a server certificate is wrong, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// Valid from 2020 to 2021.
    Expired,
    /// For `elsewhere.example` only.
    WrongHost,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { cert, key }
    }

    /// The CA certificate (PEM), as the county CA bundle a desk is given.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// An HTTPS client trusting only this CA (and the built-in roots), reporting the peer's
    /// certificate: a fresh one has no pooled connection from before a reload.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .tls_info(true)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem().as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    /// Writes the CA bundle to `path`.
    pub fn write_bundle(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.pem()).expect("CA bundle written");
        path.to_path_buf()
    }

    /// A server certificate for `localhost` and 127.0.0.1 (unless `flaw` says otherwise),
    /// written as `<stem>.crt` / `<stem>.key` in `dir`.
    pub fn issue(&self, dir: &Path, stem: &str, flaw: Flaw) -> ServerCert {
        let names: Vec<String> = match flaw {
            Flaw::WrongHost => vec!["elsewhere.example".into()],
            _ => vec!["localhost".into(), "127.0.0.1".into()],
        };
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "shimin-server (test)");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        if flaw == Flaw::Expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        } else {
            params.not_before = date_time_ymd(2025, 1, 1);
            params.not_after = date_time_ymd(2035, 1, 1);
        }
        let key = KeyPair::generate().expect("server key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("server certificate");
        let out = ServerCert {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&out.cert, cert.pem()).expect("certificate written");
        std::fs::write(&out.key, key.serialize_pem()).expect("key written");
        out
    }
}

/// The server certificate (DER) a response came with.
pub fn peer_certificate(resp: &reqwest::Response) -> Vec<u8> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(|c| c.to_vec())
        .expect("TLS info")
}
