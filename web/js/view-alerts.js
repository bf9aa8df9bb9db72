// SPDX-License-Identifier: MIT
// Alerts and incidents. #/alerts: the alerts pending and firing (labels, annotations,
// since when, value), the incidents (filtered by status, kept in the URL), a diagnosis
// run on demand, the rules with their health and last error, and the latest alert
// transitions. #/alerts/<id>: one incident, with its alerts, the diagnosis attached to
// it, the actions taken and their verdicts (and its playbook while the incident is
// open), the timeline, and its post-incident report in Markdown or HTML.
'use strict';

(() => {
  const STATUSES = ['all', 'open', 'mitigated', 'resolved', 'closed'];

  function alertItem(a) {
    const name = a.labels.alertname || '(unnamed)';
    const {summary, description, ...other} = a.annotations || {};
    return TG.el('li', {'data-key': `${name}${JSON.stringify(a.labels)}`, 'data-alert': name,
                        'data-state': a.state},
      TG.el('div', {class: 'row-head'}, TG.el('strong', {}, name), TG.ui.state(a.state),
            a.labels.severity ? TG.ui.badge(a.labels.severity) : null,
            TG.el('span', {class: 'muted', title: TG.fmt.date(a.activeAt)},
                  `active since ${TG.fmt.date(a.activeAt)} (${TG.fmt.age(a.activeAt)}) · value ${TG.fmt.num(a.value)}`)),
      TG.ui.labels(a.labels, ['alertname', 'severity']),
      summary ? TG.el('div', {}, summary) : null,
      description ? TG.el('div', {class: 'muted'}, description) : null,
      Object.keys(other).length ? TG.ui.kv(Object.entries(other)) : null);
  }

  function incidentRow(i) {
    return {attrs: {'data-key': String(i.id), 'data-incident': String(i.id), 'data-status': i.status},
      cells: [TG.el('a', {href: `#/alerts/${i.id}`}, `#${i.id}`),
              {text: i.title, class: 'wrap'}, TG.ui.state(i.status),
              i.severity ? TG.ui.badge(i.severity, i.severity === 'SEV-1' ? 'bad' : 'warn') : '–',
              {text: TG.fmt.date(i.opened_at)}, {text: i.resolved_at ? TG.fmt.date(i.resolved_at) : '–'},
              {text: `${i.alerts_firing} / ${i.alerts_total}`, num: true}, i.escalation_level, i.opened_by]};
  }

  function ruleRows(groups) {
    return groups.flatMap((g) => g.rules.map((r) => ({
      attrs: {'data-key': `${g.name} ${r.type} ${r.name}`, 'data-rule': r.name},
      cells: [g.name, r.name, r.type === 'alerting' ? 'alert' : 'record',
              r.type === 'alerting' ? TG.ui.state(r.state) : '–',
              TG.ui.state(r.health), {text: r.lastError || '–', class: r.lastError ? 'wrap bad' : 'wrap'},
              r.type === 'alerting' && r.duration ? `${TG.fmt.num(r.duration)} s` : '–',
              {text: r.query, class: 'mono wrap'}]})));
  }

  function mountList(root, query) {
    let status = STATUSES.includes(query.get('status')) ? query.get('status') : 'all';
    root.append(TG.el('h1', {}, 'Alerts & incidents'));
    const alerts = TG.ui.card(root, 'Alerts pending and firing', {id: 'alerts-list'});
    const incidents = TG.ui.card(root, 'Incidents', {id: 'incidents-list'});
    const pick = TG.el('select', {id: 'incident-status', 'aria-label': 'Incident status'},
      STATUSES.map((s) => TG.el('option', {value: s, selected: s === status}, s)));
    incidents.head.append(TG.el('label', {}, 'Status ', pick));
    pick.addEventListener('change', () => {
      status = pick.value;
      history.replaceState(null, '', `#/alerts${status === 'all' ? '' : `?status=${status}`}`);
      TG.refresh();
    });

    const diag = TG.ui.card(root, 'Diagnosis now', {id: 'diagnosis-now'});
    const run = TG.el('button', {type: 'button', id: 'run-diagnosis'}, 'Run diagnosis');
    diag.head.append(run);
    TG.ui.render(diag.body, TG.ui.empty('The decision tree over the store and the collectors, ' +
                                        'run when asked (GET /api/v1/monitoring/diagnosis).'));
    run.addEventListener('click', async () => {
      run.disabled = true;
      const e = await TG.ui.load(diag, async () => {
        TG.ui.render(diag.body, TG.diagnosis(await TG.api('/api/v1/monitoring/diagnosis')));
      });
      run.disabled = false;
      if (e) TG.notify(`diagnosis failed: ${e.message}`, 'error');
    });

    const rules = TG.ui.card(root, 'Rules', {id: 'rules-list'});
    const hist = TG.ui.card(root, 'Latest alert transitions', {id: 'alert-history'});

    async function update() {
      await TG.ui.settle([
        TG.ui.load(alerts, async () => {
          const list = (await TG.api('/api/v1/alerts')).data.alerts;
          const order = (a) => (a.state === 'firing' ? 0 : 1);
          list.sort((a, b) => order(a) - order(b) || String(a.activeAt).localeCompare(String(b.activeAt)));
          TG.ui.render(alerts.body, list.length ? TG.el('ul', {class: 'items'}, list.map(alertItem))
                                                : TG.ui.empty('No alert is pending or firing.'));
        }),
        TG.ui.load(incidents, async () => {
          const q = status === 'all' ? '' : `&status=${status}`;
          const list = (await TG.api(`/api/v1/incidents?limit=100${q}`)).incidents;
          TG.ui.render(incidents.body, list.length
            ? TG.ui.table(['id', 'title', 'status', 'severity', 'opened', 'resolved',
                           {text: 'alerts firing', num: true}, 'level', 'by'],
                          list.map(incidentRow), {id: 'incidents-table'})
            : TG.ui.empty(status === 'all' ? 'No incident yet.' : `No ${status} incident.`));
        }),
        TG.ui.load(rules, async () => {
          const groups = (await TG.api('/api/v1/rules')).data.groups;
          const rows = ruleRows(groups);
          TG.ui.render(rules.body, rows.length
            ? TG.ui.table(['group', 'name', 'type', 'state', 'health', 'last error', 'for', 'query'], rows)
            : TG.ui.empty('No rule file is loaded (rules.files).'));
        }),
        TG.ui.load(hist, async () => {
          const rows = (await TG.api('/api/v1/alerts/history?limit=20')).data.history;
          TG.ui.render(hist.body, rows.length
            ? TG.ui.table(['time', 'alert', 'state', 'labels', {text: 'value', num: true}],
              rows.map((h) => ({attrs: {'data-key': String(h.id)},
                cells: [TG.fmt.date(h.time), h.alertname, TG.ui.state(h.state),
                        TG.ui.labels(h.labels, ['alertname']), {text: TG.fmt.num(h.value), num: true}]})))
            : TG.ui.empty('No alert has fired yet.'));
        }),
      ]);
    }
    return {update};
  }

  TG.view('alerts', {
    title: 'Alerts & incidents',
    mount(root, {arg, query}) {
      return /^[1-9][0-9]*$/.test(arg) ? TG.incidentView(root, Number(arg)) : mountList(root, query);
    },
  });
})();
