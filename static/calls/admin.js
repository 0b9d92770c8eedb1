// Admin helper: copy share links (event delegation, so htmx-swapped content works too).
// htmx's POSTs carry the CSRF token through the container's hx-headers.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-share-link]");
  if (!button) return;
  const input = button.parentElement.querySelector(".calls-share-link");
  if (!input) return;
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
});
