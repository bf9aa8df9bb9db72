// SPDX-License-Identifier: MIT
// One incident (#/alerts/<id>): what GET /api/v1/incidents/<id> holds (summary, alerts,
// the diagnosis attached, actions taken with their verdicts, the timeline, the fields the
// runbooks require before closing), its playbook's live state from
// /api/v1/system/playbooks while it is open, and links to its post-incident report.
'use strict';

(() => {
  const filled = (v) => (v ? String(v) : TG.el('span', {class: 'muted'}, 'not filled in'));
  const orDash = (v) => (v === null || v === undefined ? '–' : v);

  function summary(i) {
    const impact = i.impact || {};
    const eps = i.affected_endpoints || [];
    const ack = i.ack_deadline ? `, acknowledge by ${TG.fmt.date(i.ack_deadline)}` : '';
    return TG.ui.kv([
      ['status', TG.ui.state(i.status)],
      ['severity', TG.ui.severity(i.severity)],
      ['opened', `${TG.fmt.date(i.opened_at)} by ${i.opened_by}`],
      ['resolved', TG.fmt.date(i.resolved_at)],
      ['closed', TG.fmt.date(i.closed_at)],
      impact.duration_s !== undefined ? ['duration', `${TG.fmt.num(impact.duration_s / 60)} min`]
                                      : null,
      ['escalation', `${i.escalation_level}${ack}`],
      ['affected endpoints', eps.length
        ? TG.el('span', {class: 'chips'}, eps.map((e) => TG.el('a',
          {class: 'chip', href: TG.ui.endpointHref(e.endpoint, e.method)},
          `${e.method} ${e.endpoint}`)))
        : '–'],
      ['root cause', filled(i.root_cause)],
      ['lessons learned', filled(i.lessons_learned)],
      ['prevention', i.prevention_measures.length ? i.prevention_measures.join('; ') : filled('')],
    ]);
  }

  function alertsTable(list) {
    if (!list.length) return TG.ui.empty('Opened by hand: no alert.');
    return TG.ui.table(['alert', 'labels', 'state', 'fired', 'resolved'], list.map((a) => ({
      attrs: {'data-key': `${a.alertname}${JSON.stringify(a.labels)}`, 'data-alert': a.alertname},
      cells: [a.alertname, TG.ui.labels(a.labels, ['alertname']), TG.ui.state(a.state),
              TG.fmt.date(a.fired_at), TG.fmt.date(a.resolved_at)],
    })));
  }

  // The playbook as /api/v1/system/playbooks shows it while the incident is open.
  function playbook(pb) {
    const next = pb.done ? ', done' : `, next action ${pb.next_action + 1}`;
    return TG.el('p', {'data-playbook': pb.playbook},
      `Playbook ${pb.playbook} (${pb.mode}${next}): `,
      pb.actions.length
        ? pb.actions.map((a, k) => TG.el('span', {class: 'pb-action'}, k ? ' · ' : '',
          `${a.op} (audit ${a.audit_id}) ${a.state}${a.dry_run ? ', dry run' : ''} `,
          a.verdict ? TG.ui.state(a.verdict) : null))
        : 'no action sent yet.');
  }

  function actions(list, pb) {
    const heads = ['time', 'op', 'request', 'body', 'by', 'verdict', 'undone',
                   {text: 'audit', num: true}];
    return [
      pb ? playbook(pb) : null,
      list.length ? TG.ui.table(heads, list.map((a, k) => ({
        attrs: {'data-key': `${k} ${a.ts}`, 'data-action': a.op},
        cells: [TG.fmt.date(a.ts), TG.ui.badge(a.op), TG.el('code', {}, `${a.method} ${a.path}`),
                {text: a.body === null || a.body === undefined ? '–' : JSON.stringify(a.body),
                 class: 'mono wrap'},
                a.by,
                a.verdict ? TG.ui.state(a.verdict)
                          : TG.el('span', {class: 'muted'}, 'not yet judged'),
                TG.fmt.date(a.undone_at), {text: String(orDash(a.audit_id)), num: true}],
      }))) : TG.ui.empty('No action taken yet.'),
    ];
  }

  // Oldest first, as the runbooks write a timeline; an entry's data is folded.
  function timeline(list) {
    return TG.el('ol', {class: 'timeline'}, list.map((t, k) => TG.el('li',
      {'data-key': `${k} ${t.ts}`, 'data-kind': t.kind},
      TG.el('time', {datetime: t.ts}, TG.fmt.date(t.ts)), ' ', TG.ui.badge(t.kind), ' ', t.text,
      t.data === null || t.data === undefined ? null
        : TG.el('details', {}, TG.el('summary', {}, 'data'),
                TG.el('pre', {}, JSON.stringify(t.data, null, 2))))));
  }

  function incidentView(root, id) {
    const base = `/api/v1/incidents/${id}`;
    const report = (href, idAttr, text) =>
      TG.el('a', {href, target: '_blank', rel: 'noopener', id: idAttr}, text);
    const title = TG.el('span', {}, `Incident #${id}`);
    root.append(
      TG.el('p', {class: 'crumbs'}, TG.el('a', {href: '#/alerts'}, '← Alerts & incidents')),
      TG.el('h1', {id: 'incident-title'}, title),
      TG.el('p', {class: 'report-links'}, 'Post-incident report: ',
            report(`${base}/report`, 'report-md', 'Markdown'), ' · ',
            report(`${base}/report?format=html`, 'report-html', 'HTML')));
    const grid = TG.el('div', {class: 'grid wide'});
    root.append(grid);
    const sum = TG.ui.card(grid, 'Summary', {id: 'incident-summary'});
    const als = TG.ui.card(grid, 'Alerts', {id: 'incident-alerts'});
    const diag = TG.ui.card(root, 'Diagnosis', {id: 'incident-diagnosis'});
    const acts = TG.ui.card(root, 'Actions and verdicts', {id: 'incident-actions'});
    const tl = TG.ui.card(root, 'Timeline', {id: 'incident-timeline'});
    const cards = [sum, als, diag, acts, tl];

    // An id that does not exist is asked once, not at every refresh.
    let missing = null;
    async function update() {
      if (missing) throw missing;
      const e = await TG.ui.load(sum, async () => {
        const [i, pbs] = await Promise.all([TG.api(base), TG.api('/api/v1/system/playbooks')]);
        const pb = (pbs.incidents || []).find((x) => x.incident === id);
        TG.ui.render(title, `#${i.id} ${i.title} `, TG.ui.state(i.status), ' ',
                     i.severity ? TG.ui.severity(i.severity) : null);
        TG.ui.render(sum.body, summary(i));
        TG.ui.render(als.body, alertsTable(i.alerts));
        TG.ui.render(diag.body, TG.diagnosis(i.diagnosis));
        TG.ui.render(acts.body, actions(i.actions_taken, pb));
        TG.ui.render(tl.body, timeline(i.timeline));
      });
      for (const c of cards.slice(1)) c.el.hidden = !!e;
      if (e instanceof TG.ApiError && e.status === 404) {
        missing = e;
        TG.ui.setNote(sum, `There is no incident #${id}.`, 'bad');
      }
      if (e) throw e;
    }
    return {update};
  }

  TG.incidentView = incidentView;
})();
