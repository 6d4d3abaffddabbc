"""Drives the web console in headless Chromium through a live meeting (test_console.sh).

    console_driver.py API KEY WORK START_AT MUTE_AT DIAL_URI

The callers (A talks, B talks, C listens, D is SIPp) are in room 1000 from START_AT. The driver
signs in, reads the rooms list and the room, mutes A (at MUTE_AT, seconds after START_AT),
records, removes D, calls DIAL_URI (a SIPp UAS) out, downloads the recording, deafens and mutes
the called party, edits the room (and meets an edit made meanwhile), creates a room, ends the
meeting, and sees the page sign out when the operator revokes its key (CONSOLE_KEY_ID, with
CONSOLE_OPERATOR_TOKEN). It writes screenshots to WORK/screenshots. It prints one JSON object of what it saw; test_console.sh judges it with what
the phones heard. A step that fails ends the run with its error in "error".
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser, BrowserError  # noqa: E402

api, key, work = sys.argv[1], sys.argv[2], sys.argv[3]
# The key's id, and an operator's key to revoke it with at the end.
key_id, operator_token = os.environ["CONSOLE_KEY_ID"], os.environ["CONSOLE_OPERATOR_TOKEN"]
start_at, mute_at, dial_uri = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
shots = os.path.join(work, "screenshots")
downloads = os.path.join(work, "downloads")
profile = os.path.join(work, "chromium")
for d in (shots, downloads, profile):
    os.makedirs(d, exist_ok=True)
out = {"steps": {}, "screenshots": []}


def rest(method, path, body=None):
    req = urllib.request.Request(api + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def call_id(name):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            return json.load(open(f"{work}/{name}.info"))["call_id"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise BrowserError(f"phone {name} never came up")


def row(cid):
    return f"document.querySelector('#roster tr[data-call=\"' + CSS.escape({json.dumps(cid)}) + '\"]')"


def step(name, seconds):
    out["steps"][name] = round(seconds, 3)


def shot(page, name):
    path = os.path.join(shots, name + ".png")
    page.screenshot(path)
    out["screenshots"].append(path)


try:
    with Browser(profile) as browser:
        browser.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        page = browser.new_page()
        page.viewport(1280, 900)

        # Signing in: a wrong key is refused on the page, the right one opens the rooms list.
        page.goto(api + "/")
        page.wait_for("document.querySelector('#sign-in #key') !== null", what="the sign-in form")
        shot(page, "sign-in")
        page.type("#key", "confab_" + "x" * 43)
        page.click("#sign-in button")
        page.wait_for("!document.getElementById('notice').hidden && "
                      "document.getElementById('notice').textContent.includes('Not signed in')",
                      what="the refusal of a wrong key")
        out["wrong_key_stored"] = page.eval("sessionStorage.length")
        page.eval("document.getElementById('key').value = ''")
        page.type("#key", key)
        page.click("#sign-in button")
        page.wait_for("document.getElementById('rooms') !== null", what="the rooms list")
        out["key_in_local_storage"] = page.eval("localStorage.length")
        out["key_in_session_storage"] = page.eval(f"sessionStorage.getItem('confab.apiKey') === {json.dumps(key)}")

        ids = {n: call_id(n) for n in "ABC"}
        out["ids"] = ids
        # Everyone in: the live count (the list reads it, then the event stream keeps it).
        step("rooms_count", page.wait_for(
            "(document.querySelector('[data-room-count=\"1000\"]') || {}).textContent === '4'",
            timeout=20, what="room 1000 showing 4 in it"))
        page.wait_for("document.getElementById('connection').dataset.state === 'live'",
                      what="the event stream")
        shot(page, "rooms")

        # The room: the roster, the names as text, who talks.
        page.click("tr[data-room='1000'] a")
        page.wait_for("document.querySelectorAll('#roster tr[data-call]').length === 4", timeout=10,
                      what="four rows in the roster")
        out["roster_names"] = page.eval(
            "[...document.querySelectorAll('#roster .name')].map(e => e.textContent)")
        out["scripts_in_page"] = page.eval("document.scripts.length")
        out["images_in_page"] = page.eval("document.images.length")
        d_row = page.eval("[...document.querySelectorAll('#roster tr[data-call]')]"
                          f".map(r => r.dataset.call).filter(c => !{json.dumps(list(ids.values()))}.includes(c))")
        out["d_call_id"] = d_row[0] if len(d_row) == 1 else None
        step("talking", page.wait_for(
            f"{row(ids['A'])}.dataset.talking === 'true' && {row(ids['B'])}.dataset.talking === 'true'"
            f" && {row(ids['C'])}.dataset.talking === 'false'",
            timeout=10, what="A and B talking, C silent"))
        out["a_codec"] = page.eval(f"{row(ids['A'])}.children[2].textContent")
        out["a_uri"] = page.eval(f"{row(ids['A'])}.querySelector('.uri').textContent")
        shot(page, "room")

        # Record, then mute A: the muted flag shows within a second of the click.
        page.click("#room-controls button[data-action='record']")
        page.wait_for("document.querySelector(\"#room-controls button[data-action='record']\")"
                      ".getAttribute('aria-pressed') === 'true'", what="recording on")
        if time.time() > start_at + mute_at + 1.0:
            raise BrowserError("the page took too long to get here: the mute would come too late "
                               f"for the phones' judged window ({time.time() - start_at:.1f} s)")
        time.sleep(max(0.0, start_at + mute_at - time.time()))
        clicked = time.time()
        page.click(f"#roster tr[data-call=\"{ids['A']}\"] button[data-action='mute']")
        step("mute_shown", page.wait_for(f"{row(ids['A'])}.dataset.muted === 'true' && "
                                         f"{row(ids['A'])}.querySelector('.flag.muted') !== null",
                                         timeout=5, what="A shown muted"))
        out["muted_at"] = round(clicked - start_at, 2)
        out["api_says_a_muted"] = next(p["muted"] for p in rest("GET", "/v1/rooms/1000")["participants"]
                                       if p["callId"] == ids["A"])
        page.wait_for("[...document.querySelectorAll('#activity li')].some(li => li.textContent.includes(': muted'))",
                      what="the mute in the activity log")
        out["activity"] = page.eval("[...document.querySelectorAll('#activity li')].map(li => li.textContent)")
        shot(page, "room-muted")

        # Remove D: its row goes (SIPp answers the BYE; the script checks it).
        if out["d_call_id"]:
            page.click(f"#roster tr[data-call=\"{out['d_call_id']}\"] button[data-action='kick']")
            step("kick_shown", page.wait_for(f"{row(out['d_call_id'])} === null", timeout=5,
                                             what="D gone from the roster"))

        # Lock the room, and make C a moderator (a select in its row).
        page.click("#room-controls button[data-action='lock']")
        page.wait_for("document.querySelector(\"#room-controls button[data-action='lock']\")"
                      ".getAttribute('aria-pressed') === 'true'", what="the room shown locked")
        page.eval(f"(() => {{ const s = {row(ids['C'])}.querySelector('select[data-action=\"role\"]');"
                  "s.value = 'moderator'; s.dispatchEvent(new Event('change')); })()")
        # Done when the change comes back on the event stream (the select showed it at once).
        page.wait_for("[...document.querySelectorAll('#activity li')].some(li => "
                      "li.textContent.includes('now moderator'))", what="C's new role in the activity log")
        room = rest("GET", "/v1/rooms/1000")
        out["locked"] = (room.get("conference") or {}).get("locked")
        out["c_role"] = next(p.get("role") for p in room["participants"] if p["callId"] == ids["C"])
        page.click("#room-controls button[data-action='lock']")  # open again for the dial-out

        # Dial out: the called party joins the roster.
        page.type("#dial-uri", dial_uri)
        page.click("#dial-out button")
        step("dial_shown", page.wait_for(
            "[...document.querySelectorAll('#roster td.who')].some(e => e.textContent.includes("
            f"{json.dumps(dial_uri)}))", timeout=10, what="the called party in the roster"))

        # Stop the recording and download it through the page (a fetch with the key).
        time.sleep(1.0)
        page.click("#room-controls button[data-action='record']")
        page.wait_for("document.querySelector('#recordings button[data-action=\"download\"]') !== null",
                      timeout=10, what="a recording to download")
        name = page.eval("document.querySelector('#recordings li[data-recording]').dataset.recording")
        # The mixer closes the file (its WAV header) on its own thread just after the stop.
        browser.pump(1.0)
        page.click("#recordings button[data-action='download']")
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(downloads, name)) and time.time() < deadline:
            browser.pump(0.1)
        out["downloaded"] = os.path.join(downloads, name) if os.path.exists(os.path.join(downloads, name)) else None

        # A phone's screen: the same room, one block per participant.
        page.viewport(390, 844, mobile=True, scale=2)
        browser.pump(0.3)
        out["phone_overflows"] = page.eval("document.documentElement.scrollWidth > window.innerWidth + 1")
        shot(page, "room-phone")
        page.viewport(1280, 900)

        # The room editor: a participant PIN and a rule, saved through PATCH with If-Match.
        page.click("#edit-room")
        page.wait_for("document.getElementById('room-editor') !== null", what="the room editor")
        page.type("#participantPin", "4321")
        page.eval("document.getElementById('announceCount').checked = true")
        shot(page, "editor")
        page.click("#room-editor button[type='submit']")
        page.wait_for("document.getElementById('roster') !== null", what="the room again after saving")
        saved = rest("GET", "/v1/rooms/1000")
        out["saved"] = {"pin": saved["pins"]["participant"], "announceCount": saved["announceCount"]}

        # A new room from the list.
        page.goto(api + "/#/new")
        page.wait_for("document.getElementById('user') !== null", what="the new-room form")
        page.type("#user", "2000")
        page.type("#name", "Board <b>room</b>")
        page.click("#room-editor button[type='submit']")
        page.wait_for("location.hash === '#/rooms/2000'", what="the new room's page")
        out["new_room"] = rest("GET", "/v1/rooms/2000")["name"]

        # When the phones have hung up, End meeting hangs up on the called party (after the
        # confirm(), which the browser wrapper accepts).
        page.goto(api + "/#/rooms/1000")
        page.wait_for("document.getElementById('roster') !== null", what="the room again")
        deadline = time.time() + 30
        while len(rest("GET", "/v1/rooms/1000").get("participants", [])) > 1 and time.time() < deadline:
            time.sleep(0.2)
        page.wait_for("document.querySelectorAll('#roster tr[data-call]').length === 1",
                      what="only the called party left")
        # Deafen the called party, then Mute all: both show in its row and in the API.
        e_id = page.eval("document.querySelector('#roster tr[data-call]').dataset.call")
        page.click(f"#roster tr[data-call=\"{e_id}\"] button[data-action='deaf']")
        step("deaf_shown", page.wait_for(f"{row(e_id)}.dataset.deaf === 'true' && "
                                         f"{row(e_id)}.querySelector('.flag.deaf') !== null",
                                         timeout=5, what="E shown deaf"))
        page.click("#room-controls button[data-action='mute-all']")
        step("mute_all_shown", page.wait_for(f"{row(e_id)}.dataset.muted === 'true'", timeout=5,
                                             what="E shown muted after Mute all"))
        e_now = next(p for p in rest("GET", "/v1/rooms/1000")["participants"] if p["callId"] == e_id)
        out["e_after_buttons"] = {"deaf": e_now.get("deaf"), "muted": e_now.get("muted")}
        page.click("#room-controls button[data-action='end']")
        step("end_shown", page.wait_for("document.querySelectorAll('#roster tr[data-call]').length === 0",
                                        timeout=5, what="an empty roster after End meeting"))
        shot(page, "room-ended")

        # Two people editing one room: the second save is refused (If-Match, 412) and says so,
        # and the first one's change stays.
        page.click("#edit-room")
        page.wait_for("document.getElementById('room-editor') !== null", what="the room editor again")
        rest("PATCH", "/v1/rooms/1000", {"name": "Renamed elsewhere"})
        page.eval("document.getElementById('name').value = 'Renamed here'")
        page.click("#room-editor button[type='submit']")
        page.wait_for("document.getElementById('notice').textContent.includes('someone changed this room')",
                      what="the editor's conflict message")
        out["conflict_notice"] = page.eval("document.getElementById('notice').textContent")
        out["name_after_conflict"] = rest("GET", "/v1/rooms/1000")["name"]

        # The operator revokes the key while the room is open: the server closes its event
        # stream, and the page signs out saying why (not "... failed").
        page.goto(api + "/#/rooms/1000")
        page.wait_for("document.getElementById('roster') !== null && "
                      "document.getElementById('connection').dataset.state === 'live'",
                      what="the room, live, before the revocation")
        revoke = urllib.request.Request(f"{api}/v1/keys/{key_id}", method="DELETE",
                                        headers={"Authorization": "Bearer " + operator_token})
        urllib.request.urlopen(revoke, timeout=5).close()
        revoked_at = time.time()
        page.wait_for("document.querySelector('#sign-in #key') !== null", timeout=10,
                      what="the sign-in page after the key was revoked")
        step("revoked_signed_out", time.time() - revoked_at)
        out["revoked_notice"] = page.eval("document.getElementById('notice').textContent")
        out["key_kept_after_revoke"] = page.eval("sessionStorage.length")

        out["page_problems"] = [p for p in page.problems()
                                # the 401s of the wrong and the revoked key, and the editor's
                                # 412, all asked for on purpose above
                                if not (("401" in p or "412" in p) and "Failed to load resource" in p)]
except Exception as e:  # noqa: BLE001: what failed is the result
    out["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
