// Pages marked data-refresh="N" reload themselves every N seconds (the office dashboard).
const holder = document.querySelector("[data-refresh]");
if (holder) {
  const seconds = Number(holder.dataset.refresh) || 30;
  setTimeout(() => window.location.reload(), seconds * 1000);
}
