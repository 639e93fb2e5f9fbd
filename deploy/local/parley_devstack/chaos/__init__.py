"""The chaos suite (`make chaos`, `python -m parley_devstack.chaos`): a platform of its own
under a steady stream of customers while processes are killed, infrastructure restarts and
third parties misbehave; a pure checker judges that nothing was lost or duplicated."""
