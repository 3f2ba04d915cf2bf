//! `/admin/audit`: the retention policy with its latest run, and the audit log, newest first: who
//! read or searched what, when, and why.

use super::{exact, has_next_page, page_param, AdminFrame, Pager};
use crate::api::admin::{admin_audit, AdminAuditData};
use crate::domain::admin::{AuditEntry, Retention};
use crate::ui::components::Loaded;
use leptos::prelude::*;

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let page = page_param();
    let data = Resource::new(page, admin_audit);
    view! {
        <Loaded resource=data render=move |AdminAuditData { me, entries, retention }| {
            let has_next = has_next_page(entries.len());
            view! {
                <AdminFrame me title="Audit log">
                    <RetentionPolicy retention />
                    <table data-testid="admin-audit">
                        <thead><tr><th>"Date (UTC)"</th><th>"Admin"</th><th>"Action"</th><th>"About"</th><th>"Reason / query"</th></tr></thead>
                        <tbody>{entries.into_iter().map(audit_row).collect_view()}</tbody>
                    </table>
                    <Pager page=page() has_next base="/admin/audit".to_owned() />
                </AdminFrame>
            }
        } />
    }
}

/// What the retention policy is (`PARLEY_RETENTION_DAYS`) and what its latest run did.
#[component]
fn RetentionPolicy(retention: Retention) -> impl IntoView {
    let policy = match retention.days {
        Some(days) => {
            format!("Messages older than {days} days are removed (PARLEY_RETENTION_DAYS={days}).")
        }
        None => "Messages are kept forever (PARLEY_RETENTION_DAYS is not set).".to_owned(),
    };
    let last_run = retention.last_run.map(|run| {
        format!(
            "Last run {}: {}.",
            exact(&run.date),
            run.detail.unwrap_or_default()
        )
    });
    view! {
        <section class="card" data-testid="retention-policy" aria-label="Retention policy">
            <p>{policy}</p>
            <p class="muted" data-testid="retention-last-run">{last_run.unwrap_or_else(|| "It has not run yet.".to_owned())}</p>
        </section>
    }
}

fn audit_row(entry: AuditEntry) -> impl IntoView {
    let about = [entry.user_a, entry.user_b]
        .into_iter()
        .flatten()
        .map(|u| u.username.to_string())
        .collect::<Vec<_>>()
        .join(" – ");
    view! {
        <tr data-testid="audit-entry" data-action=entry.action.as_str()>
            <td><time>{exact(&entry.date)}</time></td>
            <td>{entry.admin.map_or_else(|| "(the server)".to_owned(), |admin| admin.username.to_string())}</td>
            <td>{entry.action.as_str()}</td>
            <td>{about}</td>
            <td>{entry.reason.or(entry.detail).unwrap_or_default()}</td>
        </tr>
    }
}
