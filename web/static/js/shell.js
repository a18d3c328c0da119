// Every page: language picker, sign out, keyboard focus helpers.
import { api, toast, t } from "./lib.js";

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch {
    toast(t("common.error"), "error");
  }
  location.href = "/login";
});
