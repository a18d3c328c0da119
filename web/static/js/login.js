import { ApiError, api, t } from "./lib.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { username: form.username.value.trim(), password: form.password.value };
  if (!body.username || !body.password) {
    error.textContent = t("login.missing");
    error.hidden = false;
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("/auth/login", { method: "POST", body });
    location.href = form.dataset.next || "/";
  } catch (err) {
    error.textContent =
      err instanceof ApiError && err.status === 429
        ? t("login.too_many")
        : err instanceof ApiError && err.status === 401
          ? t("login.wrong")
          : t("common.error");
    error.hidden = false;
    button.disabled = false;
  }
});
