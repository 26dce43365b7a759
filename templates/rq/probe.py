"""The probe module: the launch imports it just before it runs RQ's CLI, in the same
process. RQ's CLI imports no application module up front (a job's function is imported
by its dotted name when the job runs), so this is the place an application's own
`-c settings` or worker class would have: it patches RQ's worker to add the probe's queue
and report the stages, and makes the probe job's function importable (as
minrepro_framework.probe) in the worker and in every work horse forked from it."""
import minrepro_framework

minrepro_framework.install(cli=True)
