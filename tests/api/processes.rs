//! Real `livechat-gateway` processes, for the tests that kill them (SIGKILL) or run several
//! against one Redis or one PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::helpers::eventually;

pub const BIN: &str = env!("CARGO_BIN_EXE_livechat-gateway");

/// A child process killed (SIGKILL) when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `livechat-gateway serve` on a port of its own, its log appended to a file.
pub struct Gateway {
    _process: Process,
    pub port: u16,
    log: PathBuf,
}

impl Gateway {
    /// Starts `cmd` as `serve --listen 127.0.0.1:<port>` without waiting for it.
    pub fn spawn(mut cmd: Command, port: u16, log: &Path) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = cmd
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the gateway starts");
        Self {
            _process: Process(child),
            port,
            log: log.to_path_buf(),
        }
    }

    /// Waits (bounded) until `/readyz` answers 200.
    pub async fn ready(self) -> Self {
        let client = awc::Client::default();
        eventually(&format!("the gateway on {} ready", self.port), || async {
            let res = client.get(self.url("/readyz")).send().await;
            res.is_ok_and(|r| r.status().is_success())
        })
        .await;
        self
    }

    /// `spawn`, then `ready`.
    pub async fn start(cmd: Command, port: u16, log: &Path) -> Self {
        Self::spawn(cmd, port, log).ready().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self._process.0.id()
    }

    /// Its exit status, once it has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self._process.0.try_wait().expect("wait")
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(self) {
        drop(self);
    }
}
