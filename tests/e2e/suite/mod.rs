//! Cases shared by both flavours. Each is `#[maybe] async fn case(env: Env)`.

pub(crate) use super::{maybe, own_http, pause, sdk};

pub mod access;
pub mod accounts;
pub mod agent;
pub mod faults;
pub mod files;
pub mod hooks;
pub mod knobs;
pub mod lifecycle;
pub mod manage;
pub mod resilience;
pub mod surface;
pub mod terminal;
pub mod tls;
pub mod workloads;

use crate::support;

/// What a case gets: a client on the shared router (as its admin) and a name prefix.
#[derive(Clone)]
pub struct Env {
    pub client: sdk::Client,
    pub prefix: &'static str,
}

impl Env {
    pub fn new(prefix: &'static str) -> Env {
        let router = support::router();
        let client = sdk::Client::builder()
            .base_url(router.url())
            .api_key(router.admin_key())
            .unwrap()
            .build()
            .unwrap();
        Env { client, prefix }
    }

    /// A sandbox name unique to this case and flavour.
    pub fn name(&self, what: &str) -> String {
        support::unique_name(self.prefix, what)
    }

    /// A client of the shared router with another credential.
    pub fn client_with_key(&self, key: &str) -> sdk::Client {
        sdk::Client::builder()
            .base_url(support::router().url())
            .api_key(key)
            .unwrap()
            .build()
            .unwrap()
    }

    /// A client of another server, with fast retries.
    pub fn client_for(&self, url: &str) -> sdk::ClientBuilder {
        sdk::Client::builder()
            .base_url(url)
            .auth(agenttier::Auth::api_key("atk_test").unwrap())
            .retry(agenttier::RetryPolicy::default().initial_backoff(std::time::Duration::from_millis(10)))
    }
}

/// Lists every case once; each flavour expands it into `#[test]` functions.
macro_rules! for_each_case {
    ($m:ident) => {
        $m! {
            lifecycle::create_wait_inspect_terminate,
            lifecycle::stop_resume_keeps_the_workspace,
            lifecycle::wrong_state_is_a_conflict,
            lifecycle::list_filters_by_phase_and_namespace,
            lifecycle::wait_times_out_with_the_last_phase,
            lifecycle::bad_create_input,
            workloads::exec_output_exit_codes_and_newlines,
            workloads::exec_timeout_kills_the_command,
            workloads::the_largest_exec_answer_fits_the_default_limits,
            workloads::exec_refuses_bad_input_locally,
            workloads::ports_forward_list_remove,
            agent::configure_is_idempotent,
            agent::invoke_payloads_and_prompt,
            agent::invoke_stream_of_100k_lines_in_order,
            agent::cancel_ends_a_running_invoke,
            agent::invoke_timeout_and_preconditions,
            accounts::templates_and_current_user,
            accounts::users_see_only_their_own_sandboxes,
            accounts::bad_credentials_are_authentication_errors,
            faults::retries_idempotent_calls_until_success,
            faults::retry_storm_reports_attempts,
            faults::post_is_not_retried,
            faults::retry_after_is_honoured,
            faults::stalled_server_is_a_request_timeout,
            faults::garbage_json_is_a_decode_error_with_snippet,
            faults::text_error_bodies_keep_their_class,
            faults::refused_connection_is_a_transport_error,
            faults::oversized_body_is_refused,
            faults::cut_connection_is_a_transport_error,
            faults::error_phase_ends_the_wait,
            faults::requests_carry_credentials_and_agent,
            faults::bodiless_posts_announce_an_empty_body,
            faults::stream_cut_mid_event_is_a_stream_error,
            faults::silent_stream_hits_the_idle_timeout,
            faults::stream_error_statuses_keep_their_class,
            faults::dropping_a_stream_closes_the_connection,
            faults::configure_error_event_is_a_stream_error,
            resilience::reset_mid_event_is_a_typed_error_not_a_hang,
            resilience::reset_mid_response_is_a_transport_error,
            resilience::storms_with_retry_after_are_retried_within_the_policy,
            resilience::truncated_json_on_list_endpoints_is_a_decode_error,
            resilience::endless_sse_line_is_a_bounded_error,
            resilience::credentials_never_appear_in_debug_or_errors,
            files::round_trips_keep_every_byte,
            files::over_32_mib_is_refused_locally,
            files::listing_a_directory,
            files::archive_unpacks_to_the_same_tree,
            files::path_escapes_are_refused,
            files::missing_files_are_not_found,
            files::absolute_paths_never_make_a_double_slash,
            files::cut_download_is_an_error_not_a_short_file,
            manage::clone_copies_the_workspace,
            manage::update_changes_mutable_fields,
            manage::update_is_checked_against_policy,
            manage::bulk_create_and_actions_report_per_item,
            manage::bulk_create_refuses_a_quota_breach_whole,
            access::api_keys_work_at_once_and_stop_when_revoked,
            access::scoped_keys_are_confined,
            access::preferences_persist_per_user,
            access::sharing_grants_read_access,
            access::governance_edits_apply_live,
            access::cluster_policy_round_trip_on_a_private_router,
            access::audit_analytics_and_admin_views_are_admin_only,
            hooks::webhook_is_delivered_signed_and_verified,
            hooks::backups_snapshot_and_restore_the_workspace,
            hooks::warm_pool_and_cluster_report_local_figures,
            hooks::warm_pool_and_headroom_config_round_trip,
            terminal::terminal_shell_sizes_types_and_exits,
            terminal::terminal_halves_and_close_reasons,
            terminal::run_in_terminal_streams_output_live,
            terminal::terminal_refusals_are_typed_errors,
            tls::tls_router_behind_a_private_ca_with_its_ca_added,
            tls::tls_unknown_ca_is_refused,
            tls::tls_danger_accept_invalid_certs_skips_verification,
            tls::own_http_client_keeps_the_sdk_contract,
            surface::templates_are_managed_end_to_end,
            surface::install_log_follows_configure,
            surface::preview_streams_the_upstream_answer,
            surface::health_and_metrics,
            surface::escape_hatch_goes_through_auth_retries_and_errors,
            surface::every_spec_route_has_a_client_call,
            knobs::guards_terminate_at_the_end_of_a_scope,
            knobs::wait_polls_at_the_interval_asked,
            knobs::retry_policy_statuses_and_retry_after_are_settable,
            knobs::create_sends_every_wire_field,
            terminal::terminal_over_tls_trusts_the_clients_roots,
            terminal::terminal_tunnels_through_the_clients_proxy,
            knobs::token_source_is_asked_per_request_and_refreshed_after_a_401,
            knobs::requests_are_traced_as_spans,
        }
    };
}
pub(crate) use for_each_case;
