/** JMH benchmarks of sprnn's CPU engines. */
package org.sprnn.bench;
