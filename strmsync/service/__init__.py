"""The shared service: queue, run slots, scheduler, workers, the job kinds table (DESIGN §7)."""
