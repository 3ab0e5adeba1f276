"""The gateway's use cases: one module per topic, each handler `handler(ports, ctx, **path values)`
declared in the route table with `@route`. Importing this package fills the table."""

from . import (  # noqa: F401  (each module's @route adds its handlers to routes.ROUTES)
    accounts,
    cohorts,
    directory,
    figures,
    group_page,
    groups,
    information,
    me,
    me_actions,
    meeting_places,
    meta,
    people,
    public,
    queue,
    referrer,
    registrations,
    sessions,
    staff,
    token_pages,
)
