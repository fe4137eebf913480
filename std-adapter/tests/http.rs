//! A real HTTP server on 127.0.0.1 (axum) with flaky handlers behind seawall's
//! tower layers, and a tower client with the retry and timeout layers, talking
//! over real sockets in real time. Every loop is bounded; no assertion depends
//! on how long anything took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use seawall::core::breaker::Outcome;
use seawall::core::bulkhead::BulkheadFull;
use seawall::core::rate_limit::NotUntil;
use seawall::timeout::Elapsed;
use seawall::{
    BoxError, Bulkhead, BulkheadConfig, BulkheadLayer, CircuitBreaker, CircuitBreakerConfig,
    CircuitBreakerLayer, Failure, RateLimiter, RateLimiterConfig, RateLimiterLayer, Rejection,
    RetryLayer, RetryPolicy, RetryStrategy, State, TimeoutLayer,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// Maps the layers' errors to HTTP responses, with Retry-After when known.
async fn error_response(error: BoxError) -> Response {
    let retry_after = |after: Option<Duration>| {
        let mut headers = HeaderMap::new();
        if let Some(after) = after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert("retry-after", HeaderValue::from(secs));
        }
        headers
    };
    if let Some(rejection) = error.downcast_ref::<Rejection>() {
        let headers = retry_after(rejection.retry_after());
        (StatusCode::SERVICE_UNAVAILABLE, headers, "circuit open").into_response()
    } else if let Some(not_until) = error.downcast_ref::<NotUntil>() {
        let headers = retry_after(Some(not_until.retry_after()));
        (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response()
    } else if error.is::<BulkheadFull>() {
        (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
    } else if error.is::<Elapsed>() {
        (StatusCode::GATEWAY_TIMEOUT, "too slow").into_response()
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
    }
}

type HandlerResult = Result<Response, std::convert::Infallible>;
type Classifier = fn(&HandlerResult) -> Option<Outcome>;

/// 5xx responses count against the handler; everything else is a success.
fn server_errors_fail(result: &HandlerResult) -> Option<Outcome> {
    Some(match result {
        Ok(response) if response.status().is_server_error() => Outcome::Failure,
        _ => Outcome::Success,
    })
}

struct Server {
    addr: SocketAddr,
    breaker: CircuitBreaker<Classifier>,
    down_hits: Arc<AtomicU32>,
    flaky_hits: Arc<AtomicU32>,
    busy_entered: Arc<Notify>,
    busy_release: Arc<Notify>,
}

async fn serve() -> Server {
    let breaker = CircuitBreaker::builder("down-handler")
        .config(CircuitBreakerConfig {
            failure_threshold: 3,
            timeout: Duration::from_secs(3600),
            ..Default::default()
        })
        .classifier(server_errors_fail as Classifier)
        .build()
        .unwrap();
    let down_hits = Arc::new(AtomicU32::new(0));
    let flaky_hits = Arc::new(AtomicU32::new(0));
    let busy_entered = Arc::new(Notify::new());
    let busy_release = Arc::new(Notify::new());

    let down = {
        let hits = Arc::clone(&down_hits);
        move || async move {
            hits.fetch_add(1, Ordering::SeqCst);
            (StatusCode::INTERNAL_SERVER_ERROR, "database down")
        }
    };
    // Fails two requests out of three.
    let flaky = {
        let hits = Arc::clone(&flaky_hits);
        move || async move {
            if hits.fetch_add(1, Ordering::SeqCst) % 3 < 2 {
                (StatusCode::SERVICE_UNAVAILABLE, "try again")
            } else {
                (StatusCode::OK, "ok")
            }
        }
    };
    let busy = {
        let entered = Arc::clone(&busy_entered);
        let release = Arc::clone(&busy_release);
        move || async move {
            entered.notify_one();
            release.notified().await;
            "done"
        }
    };
    let handle_errors = || HandleErrorLayer::new(error_response);
    let app = Router::new()
        .route(
            "/down",
            get(down).layer(
                ServiceBuilder::new()
                    .layer(handle_errors())
                    .layer(CircuitBreakerLayer::new(breaker.clone())),
            ),
        )
        .route("/flaky", get(flaky))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            })
            .layer(
                ServiceBuilder::new()
                    .layer(handle_errors())
                    .layer(TimeoutLayer::new(Duration::from_millis(50))),
            ),
        )
        .route(
            "/limited",
            get(|| async { "ok" }).layer(ServiceBuilder::new().layer(handle_errors()).layer(
                RateLimiterLayer::new(RateLimiter::new(RateLimiterConfig {
                    rate: 1,
                    period: Duration::from_secs(3600),
                    burst: 2,
                    max_wait: Duration::ZERO,
                })),
            )),
        )
        .route(
            "/busy",
            get(busy).layer(ServiceBuilder::new().layer(handle_errors()).layer(
                BulkheadLayer::new(Bulkhead::new(BulkheadConfig {
                    max_concurrent: 1,
                    ..Default::default()
                })),
            )),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        breaker,
        down_hits,
        flaky_hits,
        busy_entered,
        busy_release,
    }
}

/// One GET over a fresh connection: the status and the Retry-After header.
async fn get_status(addr: SocketAddr, path: &str) -> Result<(StatusCode, Option<u64>), BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header("host", "127.0.0.1")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    Ok((response.status(), retry_after))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_protect_a_real_http_server() {
    let server = serve().await;
    let addr = server.addr;

    // The breaker: three 500s, then 503s without reaching the handler.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get_status(addr, "/down").await.unwrap());
    }
    let error = (StatusCode::INTERNAL_SERVER_ERROR, None);
    let open = (StatusCode::SERVICE_UNAVAILABLE, Some(3600));
    assert_eq!(statuses, [error, error, error, open, open, open]);
    assert_eq!(server.down_hits.load(Ordering::SeqCst), 3);
    assert_eq!(server.breaker.state(), State::Open);
    assert_eq!(server.breaker.stats().rejected, 3);

    // The timeout.
    assert_eq!(
        get_status(addr, "/slow").await.unwrap().0,
        StatusCode::GATEWAY_TIMEOUT
    );

    // The rate limiter: a burst of two, then 429 with the time to wait.
    let limited: Vec<StatusCode> = [
        get_status(addr, "/limited").await.unwrap(),
        get_status(addr, "/limited").await.unwrap(),
        get_status(addr, "/limited").await.unwrap(),
    ]
    .map(|(status, _)| status)
    .to_vec();
    assert_eq!(
        limited,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );

    // The bulkhead: one request in the handler, the next one refused.
    let first = tokio::spawn(get_status(addr, "/busy"));
    server.busy_entered.notified().await;
    assert_eq!(
        get_status(addr, "/busy").await.unwrap().0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    server.busy_release.notify_one();
    assert_eq!(first.await.unwrap().unwrap().0, StatusCode::OK);
    assert_eq!(
        {
            let again = tokio::spawn(get_status(addr, "/busy"));
            server.busy_entered.notified().await;
            server.busy_release.notify_one();
            again.await.unwrap().unwrap().0
        },
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrying_client_gets_through_a_flaky_handler() {
    let server = serve().await;
    let addr = server.addr;
    let retry = RetryLayer::new(RetryPolicy {
        max_attempts: 3,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(5),
        },
        ..Default::default()
    })
    .unwrap()
    .classifier(
        |result: &Result<(StatusCode, Option<u64>), BoxError>| match result {
            Ok((status, _)) if status.is_server_error() => Some(Failure::retryable()),
            Ok(_) => None,
            Err(_) => Some(Failure::retryable()),
        },
    );
    let client = ServiceBuilder::new()
        .layer(retry)
        .layer(TimeoutLayer::new(Duration::from_secs(30)))
        .service(service_fn(move |path: &'static str| get_status(addr, path)));
    for _ in 0..5 {
        let (status, _) = client.clone().oneshot("/flaky").await.unwrap();
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(server.flaky_hits.load(Ordering::SeqCst), 15);
}
