// SPDX-License-Identifier: MIT
// Alerts and incidents. #/alerts: the alerts pending and firing (labels, annotations,
// since when, value), the incidents (filtered by status, kept in the URL), a diagnosis
// run on demand, the rules with their health and last error, and the latest alert
// transitions. #/alerts/<id>: one incident (incident.js).
'use strict';

(() => {
  const STATUSES = ['all', 'open', 'mitigated', 'resolved', 'closed'];
  const num = (text) => ({text, num: true});

  // Firing before pending, then the longest active first.
  const byState = (a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
                            String(a.activeAt).localeCompare(String(b.activeAt));

  function alertItem(a) {
    const name = a.labels.alertname || '(unnamed)';
    const {summary, description, ...other} = a.annotations || {};
    return TG.el('li', {'data-key': `${name}${JSON.stringify(a.labels)}`, 'data-alert': name,
                        'data-state': a.state},
      TG.el('div', {class: 'row-head'}, TG.el('strong', {}, name), TG.ui.state(a.state),
            a.labels.severity ? TG.ui.badge(a.labels.severity) : null,
            TG.el('span', {class: 'muted'}, `active since ${TG.fmt.date(a.activeAt)} ` +
                  `(${TG.fmt.age(a.activeAt)}) · value ${TG.fmt.num(a.value)}`)),
      TG.ui.labels(a.labels, ['alertname', 'severity']),
      summary ? TG.el('div', {}, summary) : null,
      description ? TG.el('div', {class: 'muted'}, description) : null,
      Object.keys(other).length ? TG.ui.kv(Object.entries(other)) : null);
  }

  function incidentRow(i) {
    return {
      attrs: {'data-key': String(i.id), 'data-incident': String(i.id), 'data-status': i.status},
      cells: [TG.el('a', {href: `#/alerts/${i.id}`}, `#${i.id}`), {text: i.title, class: 'wrap'},
              TG.ui.state(i.status), TG.ui.severity(i.severity), TG.fmt.date(i.opened_at),
              TG.fmt.date(i.resolved_at), num(`${i.alerts_firing} / ${i.alerts_total}`),
              i.escalation_level, i.opened_by],
    };
  }

  function ruleRows(groups) {
    return groups.flatMap((g) => g.rules.map((r) => {
      const alerting = r.type === 'alerting';
      return {
        attrs: {'data-key': `${g.name} ${r.type} ${r.name}`, 'data-rule': r.name},
        cells: [g.name, r.name, alerting ? 'alert' : 'record',
                alerting ? TG.ui.state(r.state) : '–', TG.ui.state(r.health),
                {text: r.lastError || '–', class: r.lastError ? 'wrap bad' : 'wrap'},
                alerting && r.duration ? `${TG.fmt.num(r.duration)} s` : '–',
                {text: r.query, class: 'mono wrap'}],
      };
    }));
  }

  function historyRow(h) {
    return {attrs: {'data-key': String(h.id)},
            cells: [TG.fmt.date(h.time), h.alertname, TG.ui.state(h.state),
                    TG.ui.labels(h.labels, ['alertname']), num(TG.fmt.num(h.value))]};
  }

  // The diagnosis card: run when asked, never by the refresh (it reads the whole store).
  function diagnosisCard(root) {
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
      if (e) TG.notify(`diagnosis failed: ${TG.ui.reason(e)}`, 'error');
    });
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
    diagnosisCard(root);
    const rules = TG.ui.card(root, 'Rules', {id: 'rules-list'});
    const hist = TG.ui.card(root, 'Latest alert transitions', {id: 'alert-history'});

    const list = (card, rows, table, none) =>
      TG.ui.render(card.body, rows.length ? table(rows) : TG.ui.empty(none));

    async function update() {
      await TG.ui.settle([
        TG.ui.load(alerts, async () => {
          const l = (await TG.api('/api/v1/alerts')).data.alerts.sort(byState);
          list(alerts, l, (r) => TG.el('ul', {class: 'items'}, r.map(alertItem)),
               'No alert is pending or firing.');
        }),
        TG.ui.load(incidents, async () => {
          const q = status === 'all' ? '' : `&status=${status}`;
          const l = (await TG.api(`/api/v1/incidents?limit=100${q}`)).incidents;
          list(incidents, l, (r) => TG.ui.table(['id', 'title', 'status', 'severity', 'opened',
                                                 'resolved', num('alerts firing'), 'level', 'by'],
                                                r.map(incidentRow), {id: 'incidents-table'}),
               status === 'all' ? 'No incident yet.' : `No ${status} incident.`);
        }),
        TG.ui.load(rules, async () => {
          const l = ruleRows((await TG.api('/api/v1/rules')).data.groups);
          list(rules, l, (r) => TG.ui.table(['group', 'name', 'type', 'state', 'health',
                                             'last error', 'for', 'query'], r),
               'No rule file is loaded (rules.files).');
        }),
        TG.ui.load(hist, async () => {
          const l = (await TG.api('/api/v1/alerts/history?limit=20')).data.history;
          list(hist, l, (r) => TG.ui.table(['time', 'alert', 'state', 'labels', num('value')],
                                           r.map(historyRow)),
               'No alert has fired yet.');
        }),
      ]);
    }
    return {update};
  }

  TG.view('alerts', {
    title: 'Alerts & incidents',
    mount(root, {arg, query}) {
      return /^[1-9][0-9]*$/.test(arg) ? TG.incidentView(root, Number(arg))
                                       : mountList(root, query);
    },
  });
})();
