// alerts.js: opt-in alerts for whoever keeps the console open — a desktop notification and a
// tone for each new incident and each deadline that passes. The choice is remembered in this
// browser. Desktop notifications need a secure origin (HTTPS or localhost) and the browser's
// permission; the tone needs a click on the page first (browsers start audio only after one), so
// the switch itself, or any click after a reload, unlocks it.
import { t } from './i18n.js';

let audio = null;

export function alertsOn() { return localStorage.getItem('yj.alerts') === '1'; }

export function notificationsPossible() { return 'Notification' in window && window.isSecureContext; }

function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!audio) audio = new Ctx();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
}

// Turning alerts on asks for the permission (from the click, as browsers require).
export async function setAlerts(on) {
  localStorage.setItem('yj.alerts', on ? '1' : '0');
  if (!on) return 'off';
  unlockAudio();
  if (!notificationsPossible()) return 'sound';
  if (Notification.permission === 'default') await Notification.requestPermission().catch(() => {});
  return Notification.permission === 'granted' ? 'both' : 'sound';
}

// Two short tones, distinct from a chat application's.
function tone(urgent) {
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  for (const [i, f] of (urgent ? [880, 660, 880] : [660, 880]).entries()) {
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = f;
    g.gain.setValueAtTime(0.2, now + i * 0.25);
    g.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
    o.connect(g).connect(audio.destination);
    o.start(now + i * 0.25);
    o.stop(now + i * 0.25 + 0.23);
  }
}

// kind and data as the live stream gives them; open(number) shows the incident.
export function alertFor(kind, data, open) {
  if (!alertsOn() || !data) return;
  const overdue = kind === 'incident.changed' && data.action === 'incident.overdue';
  if (kind !== 'incident.created' && !overdue) return;
  tone(overdue);
  if (!notificationsPossible() || Notification.permission !== 'granted') return;
  const n = new Notification(`${overdue ? t('Deadline passed') : t('New incident')} ${data.number}`, {
    body: data.title, tag: `${data.number}:${overdue ? 'overdue' : 'new'}`, requireInteraction: overdue,
  });
  n.onclick = () => { window.focus(); open(data.number); n.close(); };
}

document.addEventListener('click', () => { if (alertsOn()) unlockAudio(); }, { capture: true });
