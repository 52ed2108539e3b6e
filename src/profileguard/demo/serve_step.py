"""The demo's last step: serve the dashboard and the privacy center until Ctrl-C.

Prints the dashboard URL with a fresh DPO key and login links for three people chosen
from the demo's data — an adult, an elderly user (60+) and a minor (under 18), each with
personalization consent where the data has one — then serves on 127.0.0.1. With
``--no-serve`` the step prints nothing and returns.
"""

from __future__ import annotations

import datetime as dt

from profileguard.apply.guards import is_elderly, is_minor
from profileguard.demo.run import DemoContext, register_step
from profileguard.pipeline.services import Services

HOST, PORT = "127.0.0.1", 8000


def demo_people(svc: Services, day: dt.date) -> dict[str, str]:
    """One user id per group (adult, elderly, minor), preferring people with consent."""
    chosen: dict[str, tuple[bool, str]] = {}
    with svc.store.read() as conn:
        import sqlalchemy as sa

        from profileguard.store import tables as t

        rows = conn.execute(sa.select(t.identity_map.c.user_pid, t.identity_map.c.user_id)
                            .order_by(t.identity_map.c.user_id)).all()
    purpose = (svc.manifest.applications.recommendation.purpose
               if svc.manifest.applications.recommendation else "personalization")
    for pid, uid in rows:
        birth = svc.birth_date_of(str(pid))
        if birth is None:
            continue
        group = "minor" if is_minor(birth, day) else "elderly" if is_elderly(birth, day) \
            else "adult"
        if group in chosen and chosen[group][0]:
            continue
        ok = svc.book.allows(str(pid), purpose).allowed
        if group not in chosen or ok:
            chosen[group] = (ok, str(uid))
    return {g: uid for g, (_ok, uid) in sorted(chosen.items())}


@register_step("serve")
def step_serve(ctx: DemoContext) -> None:
    if not ctx.serve:
        return
    import uvicorn

    from profileguard.server.app import create_app
    from profileguard.server.keys import create_key
    from profileguard.server.links import login_link

    svc: Services | None = ctx.state.pop("services", None)
    if svc is not None:
        svc.close()  # release the warehouse: the server attaches it read-only
    ctx.console.rule("[bold]Serve: dashboard, privacy center, transparency page")
    app = create_app(ctx.manifest)
    served = app.state.pg.svc
    base = f"http://{HOST}:{PORT}"
    _key, plaintext = create_key(served.store, served.ledger, "demo DPO", "dpo", actor="demo")
    ctx.console.print(f"  dashboard (DPO):     {base}/dashboard/login?key={plaintext}",
                      highlight=False, soft_wrap=True)
    for group, user in demo_people(served, ctx.as_of.date()).items():
        ctx.console.print(f"  privacy center ({group}, {user}): {login_link(served, user, base)}",
                          highlight=False, soft_wrap=True)
    ctx.console.print(f"  transparency page:   {base}/transparency   API: {base}/docs")
    ctx.console.print("  serving until Ctrl-C …")
    uvicorn.run(app, host=HOST, port=PORT, log_level="warning")
