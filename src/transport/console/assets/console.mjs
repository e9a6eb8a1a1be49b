// gavel console: the only script, served from /assets (the Content-Security-Policy allows no other).
// Pages work without it; it only follows a running verification so its progress moves by itself.
const box = document.querySelector('.verify[data-job] progress')?.closest('.verify');
if (box) {
  const url = box.getAttribute('data-job');
  const progress = box.querySelector('progress');
  const count = box.querySelector('.count');
  const tick = async () => {
    const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (!res.ok) return;
    const job = await res.json();
    if (!job.running) {
      window.location.reload();
      return;
    }
    progress.max = job.total || 1;
    progress.value = job.done;
    progress.textContent = `${job.done} of ${job.total}`;
    if (count) count.textContent = `${job.done} of ${job.total}`;
    setTimeout(tick, 500);
  };
  setTimeout(tick, 500);
}
