// The no-op task of bench:dispatch as a BullMQ sandboxed processor: BullMQ runs this file in child processes it
// keeps (as AI Mass runs its tasks in a worker's child processes), so the two compare with the same isolation.
module.exports = async () => ({ ok: true });
