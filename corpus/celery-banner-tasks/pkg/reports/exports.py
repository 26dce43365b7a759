"""One export task per report, period and format, registered in a loop so that each has its
own name, rate limit and routing in the monitoring tools (about 1400 tasks)."""
from reports.catalog import DOMAINS, FORMATS, PERIODS
from reports.celery import app


def _exporter(domain, report, period, fmt):
    def export(start, end, recipients=()):
        return {"report": "%s.%s" % (domain, report), "period": period, "format": fmt,
                "start": start, "end": end, "recipients": list(recipients)}

    export.__name__ = "export_%s_%s_%s" % (report, period, fmt)
    return export


for _domain, _reports in DOMAINS.items():
    for _report in _reports:
        for _period in PERIODS:
            for _fmt in FORMATS:
                app.task(name="reports.exports.%s.%s_%s_%s" % (_domain, _report, _period, _fmt))(
                    _exporter(_domain, _report, _period, _fmt))
