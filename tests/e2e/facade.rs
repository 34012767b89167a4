//! The facade with both features on: both clients coexist in one binary.

#[test]
fn both_flavours_build_from_one_configuration() {
    let url = "http://127.0.0.1:9";
    let blocking = agenttier::blocking::Client::builder().base_url(url).build().unwrap();
    let asynchronous = agenttier::Client::builder().base_url(url).build().unwrap();
    assert_eq!(blocking.config().base_url, asynchronous.config().base_url);
}

#[test]
fn async_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = agenttier::Client::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let sandbox = client.sandbox("x");
    assert_send(&client.get_sandbox("x"));
    assert_send(&client.list_sandboxes(Default::default()));
    assert_send(&sandbox.exec("true"));
    assert_send(&sandbox.wait_until_running(agenttier::DEFAULT_WAIT));
    assert_send(&sandbox.agent().invoke_stream(agenttier::models::Invoke::empty()));
    assert_send(
        &sandbox
            .agent()
            .configure_with_log(agenttier::models::Configure::new(), |_, _| {}),
    );
}

#[test]
fn streams_are_iterators_and_send_streams() {
    fn iterator<T: Iterator<Item = agenttier::Result<agenttier::models::InvokeEvent>>>() {}
    fn send_stream<T: futures_util::Stream<Item = agenttier::Result<agenttier::models::InvokeEvent>> + Send + Unpin>() {
    }
    iterator::<agenttier::blocking::InvokeStream>();
    send_stream::<agenttier::InvokeStream>();
}
