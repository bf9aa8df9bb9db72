// SPDX-License-Identifier: MIT
// Forms that change the gateway through the control API, for the control view: a form is
// built from a list of fields named as the API's body fields, shows the effective values
// as its defaults, and sends only what the user changed (so a form never writes back a
// value it merely displayed, which would turn a default into an override). It shows a
// 400's message beside the field the answer names, a 401 as a missing or wrong token, and
// after a success the audit entry the change wrote. Also: the confirmation <dialog> of
// destructive actions (not window.confirm, which blocks the page and headless browsers),
// and the rendering of audit entries.
'use strict';

(() => {
  const el = (...a) => TG.el(...a);

  // Field types: how a control is built, read (typed, null when empty) and written.
  const TYPES = {
    bool: {
      make: (f) => el('input', {type: 'checkbox', name: f.name}),
      read: (c) => c.checked,
      write: (c, v) => { c.checked = v === true; },
    },
    int: {
      make: (f) => el('input', {type: 'number', name: f.name, step: '1', inputmode: 'numeric',
                                placeholder: f.placeholder}),
      read: (c) => (c.value === '' ? null : Number(c.value)),
      write: (c, v) => { c.value = v === null || v === undefined ? '' : String(v); },
    },
    num: {
      make: (f) => el('input', {type: 'number', name: f.name, step: 'any', inputmode: 'decimal',
                                placeholder: f.placeholder}),
      read: (c) => (c.value === '' ? null : Number(c.value)),
      write: (c, v) => { c.value = v === null || v === undefined ? '' : String(v); },
    },
    enum: {
      make: (f) => el('select', {name: f.name}),
      read: (c) => (c.value === '' ? null : c.value),
      write: (c, v) => { c.value = v === null || v === undefined ? '' : String(v); },
    },
    text: {
      make: (f) => el('input', {type: 'text', name: f.name, autocomplete: 'off',
                                placeholder: f.placeholder}),
      read: (c) => (c.value.trim() === '' ? null : c.value.trim()),
      write: (c, v) => { c.value = v === null || v === undefined ? '' : String(v); },
    },
    list: {
      make: (f) => el('input', {type: 'text', name: f.name, autocomplete: 'off',
                                placeholder: f.placeholder || 'a, b'}),
      read: (c) => {
        const xs = c.value.split(',').map((s) => s.trim()).filter(Boolean);
        return xs.length ? xs : null;
      },
      write: (c, v) => { c.value = Array.isArray(v) ? v.join(', ') : ''; },
    },
  };

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // Options of an enum control: [[value, label], ...]; keeps the selection when it is
  // still offered.
  function setOptions(select, options) {
    const keep = select.value;
    TG.clear(select, options.map(([v, l]) => el('option', {value: v}, l)));
    if (options.some(([v]) => v === keep)) select.value = keep;
  }

  // {id, title, what, fields: [{name, label, type, options, help, placeholder}], buttons:
  // [{label, value, class}], onSubmit(form, submitter)} -> a form object: .el (the card),
  // .set(values, {force, notes}), .values(), .changed(), .dirty(), .fieldError(name,
  // message), .message(node|text, kind), .status(node|text), .busy(bool), .controls.
  function controlForm(spec) {
    const controls = {};
    const errors = {};
    const labels = {};
    const notes = {};
    let defaults = {};
    const result = el('div', {class: 'form-result', 'aria-live': 'polite'});
    const status = el('p', {class: 'form-status muted'});
    const form = el('form', {class: 'control', id: `form-${spec.id}`, novalidate: true});

    for (const f of spec.fields) {
      const c = TYPES[f.type].make(f);
      c.id = `f-${spec.id}-${f.name}`;
      errors[f.name] = el('span', {class: 'field-error', id: `err-${spec.id}-${f.name}`,
                                   'data-field': f.name});
      notes[f.name] = el('span', {class: 'field-note muted'});
      c.setAttribute('aria-describedby', errors[f.name].id);
      if (f.type === 'enum') setOptions(c, f.options || []);
      controls[f.name] = c;
      const text = el('span', {class: 'field-label'}, f.label, notes[f.name]);
      labels[f.name] = f.type === 'bool'
        ? el('label', {class: 'check', for: c.id}, c, text)
        : el('label', {for: c.id}, text, c);
      const wide = f.wide || ['list', 'enum', 'bool'].includes(f.type);
      form.append(el('div', {class: `field${wide ? ' wide' : ''}`, 'data-field': f.name},
                     labels[f.name],
                         f.help ? el('span', {class: 'help muted'}, f.help) : null,
                         errors[f.name]));
      c.addEventListener(f.type === 'bool' || f.type === 'enum' ? 'change' : 'input', () => {
        labels[f.name].classList.toggle('changed', isChanged(f));
        errors[f.name].textContent = '';
      });
    }
    const buttons = el('div', {class: 'buttons'},
      (spec.buttons || [{label: 'Apply', class: 'primary'}]).map((b) =>
        el('button', {type: 'submit', class: b.class || '', value: b.value || '',
                      'data-action': b.value || null}, b.label)),
      el('button', {type: 'reset', class: 'reset'}, 'Reset'));
    form.append(buttons, result);

    const read = (f) => TYPES[f.type].read(controls[f.name]);
    // Focus in a field (not on a button) means the user is at it.
    const editing = () => form.contains(document.activeElement) &&
                          document.activeElement.tagName !== 'BUTTON';
    // Changed: not what was shown as effective; nothing is changed before values came.
    function isChanged(f) {
      if (!(f.name in defaults)) return false;
      const v = read(f);
      return v !== null && !same(v, defaults[f.name] === undefined ? null : defaults[f.name]);
    }

    const api = {
      controls, spec,
      el: el('section', {class: 'card control-card', 'data-form': spec.id},
             el('h2', {}, spec.title), spec.what ? el('p', {class: 'muted what'}, spec.what) : null,
             status, form),
      values: () => Object.fromEntries(spec.fields.map((f) => [f.name, read(f)])),
      // The fields whose value differs from the one shown as effective (empty ones are
      // not filled in, so not sent).
      changed: () => Object.fromEntries(spec.fields.filter(isChanged)
                                        .map((f) => [f.name, read(f)])),
      dirty: () => spec.fields.some(isChanged) || editing(),
      // Shows `values` as the effective ones. A form the user is editing keeps what they
      // typed unless `force` (after its own change went through).
      set(values, o = {}) {
        if (!o.force && api.dirty()) return;
        defaults = {...values};
        for (const f of spec.fields) {
          TYPES[f.type].write(controls[f.name], values[f.name]);
          labels[f.name].classList.remove('changed');
        }
        for (const [name, note] of Object.entries(o.notes || {}))
          if (notes[name]) notes[name].textContent = note ? ` · ${note}` : '';
      },
      setOptions: (name, options) => setOptions(controls[name], options),
      // A line of live state above the fields (instances, disabled features...).
      status: (content) => TG.clear(status, content),
      fieldError(name, message) {
        if (!errors[name]) return false;
        errors[name].textContent = message;
        controls[name].focus();
        return true;
      },
      message(content, kind = 'info') {
        TG.clear(result, el('div', {class: `form-message ${kind}`,
                                    role: kind === 'error' ? 'alert' : 'status'}, content));
      },
      clearMessages() {
        TG.clear(result);
        for (const e of Object.values(errors)) e.textContent = '';
      },
      busy(on) {
        for (const b of form.querySelectorAll('button')) b.disabled = on;
        form.setAttribute('aria-busy', String(on));
      },
    };
    form.addEventListener('reset', (e) => {
      e.preventDefault();
      api.set(defaults, {force: true});
      api.clearMessages();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      api.clearMessages();
      const bad = spec.fields.find((f) => controls[f.name].validity &&
                                          controls[f.name].validity.badInput);
      if (bad) { api.fieldError(bad.name, 'not a number'); return; }
      spec.onSubmit(api, e.submitter);
    });
    return api;
  }

  // Shows an API failure where the user looks: a 400 naming a field beside that field,
  // a 401 as a token problem with the header's token dialog one click away.
  function showFailure(form, err, fieldAlias = {}) {
    if (err.status === 401) {
      form.message([el('span', {}, 'token needed or wrong '),
                    el('button', {type: 'button', class: 'open-token',
                                  on: {click: () => document.getElementById('token').click()}},
                       'Set token')], 'error');
      return;
    }
    const field = err.field && (fieldAlias[err.field] || err.field);
    if (err.status === 400 && field && form.fieldError(field, err.message.replace(/^400: /, '')))
      return;
    form.message(err.message, 'error');
  }

  // `old → new` for each key an audit entry changed.
  function changes(entry) {
    const old = entry.old || {};
    const neu = entry.new || {};
    const keys = [...new Set([...Object.keys(old), ...Object.keys(neu)])];
    const show = (v) => (v === undefined ? '–' : JSON.stringify(v));
    return keys.map((k) => el('li', {}, el('code', {}, k), ': ',
                              el('span', {class: 'old'}, show(old[k])), ' → ',
                              el('span', {class: 'new'}, show(neu[k]))));
  }

  // One audit row as a card: id, time, actor, action, target, and what changed.
  function auditEntry(entry) {
    return el('div', {class: 'audit-entry', 'data-audit-id': entry.id},
      el('div', {class: 'audit-head'},
        el('span', {class: 'audit-id mono'}, `#${entry.id}`),
        el('time', {class: 'audit-time', datetime: entry.time}, TG.fmt.date(entry.time)),
        el('span', {class: 'audit-actor'}, entry.actor),
        el('span', {class: 'audit-action mono'}, entry.action),
        el('span', {class: 'audit-target mono'}, entry.target),
        entry.result && entry.result !== 'ok'
          ? el('span', {class: 'badge bad'}, entry.result) : null),
      el('ul', {class: 'audit-changes'}, changes(entry)));
  }

  // The newest audit entry of `action` ("PUT /api/v1/system/rate-limit"), read just after
  // the call that wrote it; null when none of the last few is (another writer was faster
  // than five changes, which the full log below still shows).
  async function auditOf(action) {
    const j = await TG.api('/api/v1/system/audit?limit=5');
    return (j.entries || []).find((e) => e.action === action) || null;
  }

  // A modal question with Cancel focused first; resolves true only for the confirm
  // button (Escape and Cancel are false).
  function confirmAction(title, text, okLabel = 'Confirm') {
    return new Promise((resolve) => {
      const dlg = el('dialog', {class: 'confirm', id: 'confirm-dialog',
                                'aria-labelledby': 'confirm-title'},
        el('form', {method: 'dialog'},
          el('h2', {id: 'confirm-title'}, title),
          el('p', {}, text),
          el('div', {class: 'buttons'},
            el('button', {value: 'cancel', id: 'confirm-cancel'}, 'Cancel'),
            el('button', {value: 'ok', class: 'danger', id: 'confirm-ok'}, okLabel))));
      dlg.addEventListener('close', () => {
        resolve(dlg.returnValue === 'ok');
        dlg.remove();
      });
      document.body.append(dlg);
      dlg.showModal();
      dlg.querySelector('#confirm-cancel').focus();
    });
  }

  Object.assign(TG, {controlForm, showFailure, auditEntry, auditChanges: changes, auditOf,
                     confirmAction});
})();
