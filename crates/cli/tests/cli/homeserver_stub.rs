//! A stand-in homeserver for end-to-end tests: answers `200 {}` to every
//! request after a delay the test sets, records each request as
//! `path body` when it arrives, and can hold the requests to one path
//! without answering, as a homeserver that hangs.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{io::AsyncWriteExt, net::TcpListener};

use crate::support::read_request;

pub struct StubHomeserver {
    pub port: u16,
    calls: Arc<Mutex<Vec<String>>>,
    delay_ms: Arc<AtomicU64>,
    held_path: Arc<Mutex<Option<String>>>,
}

impl StubHomeserver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stub = Self {
            port: listener.local_addr().unwrap().port(),
            calls: Arc::default(),
            delay_ms: Arc::default(),
            held_path: Arc::default(),
        };
        let (calls, delay_ms, held_path) = (
            stub.calls.clone(),
            stub.delay_ms.clone(),
            stub.held_path.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (calls, delay_ms, held_path) =
                    (calls.clone(), delay_ms.clone(), held_path.clone());
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    calls.lock().unwrap().push(request.clone());
                    let path = request.split(' ').next().unwrap_or_default().to_owned();
                    while held_path.lock().unwrap().as_deref() == Some(path.as_str()) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    let delay = delay_ms.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        stub
    }

    /// The value of `matrix.endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Answers every request after `delay` from now on.
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap();
        self.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// Leaves the requests to `path` unanswered until called with `None`
    /// (they are recorded all the same).
    pub fn hold(&self, path: Option<&str>) {
        *self.held_path.lock().unwrap() = path.map(str::to_owned);
    }

    /// The bodies of the requests to `path` so far.
    pub fn calls_to(&self, path: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|call| call.split_once(' '))
            .filter(|(called, _)| *called == path)
            .map(|(_, body)| body.to_owned())
            .collect()
    }
}
