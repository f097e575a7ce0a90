"""Who hears what, one file a job:

- `kinds`: the notice kinds, their switches, e-mail subjects and wording;
- `audiences`: who hears of what event, and what they are told;
- `fanout`: the set-based insert of an event's notices (`deliver_event`);
- `reminders`: the daily triage-SLA and action reminders;
- `digest`: the weekly digest;
- `mailing`: a notice's e-mail (how much it may say: `policy.mail_detail`).

Every idea a notice, an e-mail or the digest shows comes from the blind
projection (`blind.IdeaText`): no notice text names or describes a
submitter to anyone but that submitter.
"""
